package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// exportNameRe is upstream's rule for resource names.
var exportNameRe = schemas.MustNameRule(`^[a-z][a-z0-9-]{1,40}$`)

// Exports manages what a project shares with other projects: SSH fleets
// (importers place runs on them) and gateways, exported to named projects
// or, when global, to every project.
type Exports struct{ *Env }

// List returns a project's exports, newest first.
func (s Exports) List(ctx context.Context, p *db.Project) ([]schemas.Export, error) {
	es, err := db.ListExports(ctx, s.DB, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", err)
	}
	return s.render(ctx, s.DB, es)
}

// Create stores a new export. Importers must be projects the actor
// administers (any project for global admins); fleets must be the
// project's SSH fleets; gateways the project's gateways.
func (s Exports) Create(ctx context.Context, actor *db.User, p *db.Project, req schemas.CreateExportRequest) (*schemas.Export, error) {
	if !exportNameRe.MatchString(req.Name) {
		return nil, InvalidField("name", "Export name %q is invalid; it must match %s", req.Name, exportNameRe)
	}
	var out *schemas.Export
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := db.GetExportByName(ctx, tx, p.ID, req.Name); err == nil {
			return Exists("Export %q already exists in project %q", req.Name, p.Name)
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		e := &db.Export{ID: uuid.NewString(), ProjectID: p.ID, Name: req.Name, IsGlobal: req.IsGlobal, CreatedAt: s.now()}
		if err := db.InsertExport(ctx, tx, e); errors.Is(err, db.ErrConflict) {
			return Exists("Export %q already exists in project %q", req.Name, p.Name)
		} else if err != nil {
			return err
		}
		ch := exportChange{addImporters: req.ImporterProjects, addFleets: req.ExportedFleets, addGateways: req.ExportedGateways}
		if err := s.change(ctx, tx, actor, p, e, ch); err != nil {
			return err
		}
		rendered, err := s.render(ctx, tx, []db.Export{*e})
		if err == nil {
			out = &rendered[0]
		}
		return err
	})
	return out, err
}

// Update adds and removes an export's importers, fleets and gateways and
// sets or unsets its global flag.
func (s Exports) Update(ctx context.Context, actor *db.User, p *db.Project, req schemas.UpdateExportRequest) (*schemas.Export, error) {
	ch := exportChange{addImporters: req.AddImporterProjects, removeImporters: req.RemoveImporterProjects,
		addFleets: req.AddExportedFleets, removeFleets: req.RemoveExportedFleets,
		addGateways: req.AddExportedGateways, removeGateways: req.RemoveExportedGateways}
	if req.SetGlobal && req.UnsetGlobal {
		return nil, Invalid("set_global and unset_global cannot be used together")
	}
	if ch.empty() && !req.SetGlobal && !req.UnsetGlobal {
		return nil, Invalid("No changes specified")
	}
	var out *schemas.Export
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		e, err := s.load(ctx, tx, p, req.Name)
		if err != nil {
			return err
		}
		if req.SetGlobal || req.UnsetGlobal {
			e.IsGlobal = req.SetGlobal
			if err := db.UpdateExport(ctx, tx, e, "is_global"); err != nil {
				return err
			}
		}
		if err := s.change(ctx, tx, actor, p, e, ch); err != nil {
			return err
		}
		rendered, err := s.render(ctx, tx, []db.Export{*e})
		if err == nil {
			out = &rendered[0]
		}
		return err
	})
	return out, err
}

// Delete removes an export: its importers stop placing new runs on its
// fleets (running jobs continue).
func (s Exports) Delete(ctx context.Context, p *db.Project, name string) error {
	e, err := s.load(ctx, s.DB, p, name)
	if err != nil {
		return err
	}
	s.Log.Info("deleting export", "project", p.Name, "export", name)
	return db.DeleteExport(ctx, s.DB, e.ID)
}

func (s Exports) load(ctx context.Context, idb bun.IDB, p *db.Project, name string) (*db.Export, error) {
	e, err := db.GetExportByName(ctx, idb, p.ID, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Export %q not found in project %q", name, p.Name)
	}
	return e, err
}

// exportChange is what a create or an update asks to add and remove.
type exportChange struct {
	addImporters, removeImporters []string
	addFleets, removeFleets       []string
	addGateways, removeGateways   []string
}

func (c exportChange) empty() bool {
	return len(c.addImporters)+len(c.removeImporters)+len(c.addFleets)+len(c.removeFleets)+
		len(c.addGateways)+len(c.removeGateways) == 0
}

// change applies c to the export after checking every name.
func (s Exports) change(ctx context.Context, tx bun.Tx, actor *db.User, p *db.Project, e *db.Export, c exportChange) error {
	addImp, rmImp := lower(c.addImporters), lower(c.removeImporters)
	for _, pair := range []struct {
		what    string
		add, rm []string
	}{{"Projects", addImp, rmImp}, {"Fleets", c.addFleets, c.removeFleets}, {"Gateways", c.addGateways, c.removeGateways}} {
		if both := intersect(pair.add, pair.rm); len(both) > 0 {
			return Invalid("%s %s are listed for both addition and removal. Cannot add and remove at the same time", pair.what, quoted(both))
		}
		if hasDuplicates(pair.add) || hasDuplicates(pair.rm) {
			return Invalid("Some %s are listed more than once", strings.ToLower(pair.what))
		}
	}
	if err := s.changeImporters(ctx, tx, actor, p, e, addImp, rmImp); err != nil {
		return err
	}
	if err := s.changeFleets(ctx, tx, p, e, c.addFleets, c.removeFleets); err != nil {
		return err
	}
	return s.changeGateways(ctx, tx, p, e, c.addGateways, c.removeGateways)
}

func (s Exports) changeImporters(ctx context.Context, tx bun.Tx, actor *db.User, p *db.Project, e *db.Export, add, rm []string) error {
	cur, err := db.ExportImporters(ctx, tx, []string{e.ID})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, m := range cur {
		byName[strings.ToLower(m.Name)] = m.ID
	}
	var already, missing []string
	for _, n := range add {
		if _, ok := byName[n]; ok {
			already = append(already, n)
		}
	}
	if len(already) > 0 {
		return Invalid("Projects %s are already importing export %q", quoted(already), e.Name)
	}
	if slices.Contains(add, strings.ToLower(p.Name)) {
		return Invalid("Project %q cannot import from itself", p.Name)
	}
	var rows []db.Import
	for _, n := range add {
		ip, err := s.importerProject(ctx, tx, actor, n)
		if err != nil {
			return err
		}
		if ip == nil {
			missing = append(missing, n)
			continue
		}
		rows = append(rows, db.Import{ID: uuid.NewString(), ExportID: e.ID, ProjectID: ip.ID, CreatedAt: s.now()})
	}
	if len(missing) > 0 {
		return Invalid("Projects %s not found or you are not allowed to add them as importers. Only project admins can add a project as importer", quoted(missing))
	}
	if err := db.AddImports(ctx, tx, rows); err != nil {
		return err
	}
	ids, notIn := idsOf(byName, rm)
	if len(notIn) > 0 {
		return Invalid("Projects %s are not importing export %q", quoted(notIn), e.Name)
	}
	return db.RemoveExportMembers(ctx, tx, e.ID, "imports", "project_id", ids)
}

// importerProject finds a project the actor may add as an importer: one
// they administer, or any for global admins; nil when there is none.
func (s Exports) importerProject(ctx context.Context, tx bun.Tx, actor *db.User, name string) (*db.Project, error) {
	ip, err := db.GetProjectByName(ctx, tx, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if isAdmin(actor) {
		return ip, nil
	}
	m, err := db.GetMember(ctx, tx, ip.ID, actor.ID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && m.ProjectRole != string(schemas.ProjectRoleAdmin)) {
		return nil, nil
	}
	return ip, err
}

func (s Exports) changeFleets(ctx context.Context, tx bun.Tx, p *db.Project, e *db.Export, add, rm []string) error {
	cur, err := db.ExportedFleets(ctx, tx, []string{e.ID})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, m := range cur {
		byName[m.Name] = m.ID
	}
	if already := present(byName, add); len(already) > 0 {
		return Invalid("Fleets %s are already exported by export %q", quoted(already), e.Name)
	}
	var ids, missing, cloud []string
	for _, n := range add {
		f, err := db.GetFleetByName(ctx, tx, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			missing = append(missing, n)
			continue
		} else if err != nil {
			return err
		}
		if !isSSHFleet(f) {
			cloud = append(cloud, n)
		}
		ids = append(ids, f.ID)
	}
	if len(missing) > 0 {
		return NotFound("Fleets %s not found in project %q", quoted(missing), p.Name)
	}
	if len(cloud) > 0 {
		return Invalid("Fleets %s are cloud fleets. Can only export SSH fleets", quoted(cloud))
	}
	if err := db.AddExportedFleets(ctx, tx, e.ID, ids); err != nil {
		return err
	}
	rmIDs, notIn := idsOf(byName, rm)
	if len(notIn) > 0 {
		return Invalid("Fleets %s are not exported by export %q", quoted(notIn), e.Name)
	}
	return db.RemoveExportMembers(ctx, tx, e.ID, "exported_fleets", "fleet_id", rmIDs)
}

func (s Exports) changeGateways(ctx context.Context, tx bun.Tx, p *db.Project, e *db.Export, add, rm []string) error {
	cur, err := db.ExportedGateways(ctx, tx, []string{e.ID})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, m := range cur {
		byName[m.Name] = m.ID
	}
	if already := present(byName, add); len(already) > 0 {
		return Invalid("Gateways %s are already exported by export %q", quoted(already), e.Name)
	}
	var ids, missing []string
	for _, n := range add {
		g, err := db.GetGatewayByName(ctx, tx, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			missing = append(missing, n)
			continue
		} else if err != nil {
			return err
		}
		ids = append(ids, g.ID)
	}
	if len(missing) > 0 {
		return NotFound("Gateways %s not found in project %q", quoted(missing), p.Name)
	}
	if err := db.AddExportedGateways(ctx, tx, e.ID, ids); err != nil {
		return err
	}
	rmIDs, notIn := idsOf(byName, rm)
	if len(notIn) > 0 {
		return Invalid("Gateways %s are not exported by export %q", quoted(notIn), e.Name)
	}
	return db.RemoveExportMembers(ctx, tx, e.ID, "exported_gateways", "gateway_id", rmIDs)
}

// render turns export rows into API objects with their members.
func (s Exports) render(ctx context.Context, idb bun.IDB, es []db.Export) ([]schemas.Export, error) {
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	fleets, err := db.ExportedFleets(ctx, idb, ids)
	if err != nil {
		return nil, err
	}
	gateways, err := db.ExportedGateways(ctx, idb, ids)
	if err != nil {
		return nil, err
	}
	importers, err := db.ExportImporters(ctx, idb, ids)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Export, len(es))
	for i, e := range es {
		out[i] = schemas.Export{ID: e.ID, Name: e.Name, IsGlobal: e.IsGlobal, Imports: []schemas.ExportImport{},
			ExportedFleets: []schemas.ExportedFleet{}, ExportedGateways: []schemas.ExportedGateway{}}
		for _, m := range importers {
			if m.ExportID == e.ID {
				out[i].Imports = append(out[i].Imports, schemas.ExportImport{ProjectName: m.Name})
			}
		}
		out[i].ExportedFleets = membersOf(fleets, e.ID)
		for _, g := range membersOf(gateways, e.ID) {
			out[i].ExportedGateways = append(out[i].ExportedGateways, schemas.ExportedGateway(g))
		}
	}
	return out, nil
}

func membersOf(ms []db.ExportMember, exportID string) []schemas.ExportedFleet {
	out := []schemas.ExportedFleet{}
	for _, m := range ms {
		if m.ExportID == exportID {
			out = append(out, schemas.ExportedFleet{ID: m.ID, Name: m.Name})
		}
	}
	return out
}

func lower(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(x)
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func hasDuplicates(xs []string) bool {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}

func present(byName map[string]string, names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := byName[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// idsOf maps names to ids, returning the names not in byName apart.
func idsOf(byName map[string]string, names []string) (ids, missing []string) {
	for _, n := range names {
		if id, ok := byName[n]; ok {
			ids = append(ids, id)
		} else {
			missing = append(missing, n)
		}
	}
	return ids, missing
}

func quoted(xs []string) string {
	qs := make([]string, len(xs))
	for i, x := range xs {
		qs[i] = fmt.Sprintf("%q", x)
	}
	sort.Strings(qs)
	return strings.Join(qs, ", ")
}
