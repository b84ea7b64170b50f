package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Gateways lists, reads, deletes and configures gateways. This server runs
// no gateways: services are served by its own proxy, so creation is
// refused; the rows come from an upstream database moved here (migrate-db).
type Gateways struct{ *Env }

// errGatewaysUnsupported is the answer to gateway creation.
var errGatewaysUnsupported = Invalid("Gateways are not supported by this server yet: services are served by the server's own proxy " +
	"at /proxy/services/<project>/<run>/. Run services without a gateway (omit `gateway:` or set `gateway: false`)")

// List returns a project's gateways by name, and with includeImported the
// gateways other projects export to it.
func (s Gateways) List(ctx context.Context, p *db.Project, includeImported bool) ([]schemas.Gateway, error) {
	gs, err := db.ListGateways(ctx, s.DB, []string{p.ID})
	if err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	projects := map[string]string{p.ID: p.Name}
	if includeImported {
		imported, names, err := s.imported(ctx, p)
		if err != nil {
			return nil, err
		}
		gs = append(gs, imported...)
		for id, n := range names {
			projects[id] = n
		}
	}
	out := make([]schemas.Gateway, 0, len(gs))
	for i := range gs {
		out = append(out, gatewaySchema(&gs[i], projects[gs[i].ProjectID]))
	}
	return out, nil
}

// imported returns the gateways exported to the project, with the names of
// their projects.
func (s Gateways) imported(ctx context.Context, p *db.Project) ([]db.Gateway, map[string]string, error) {
	imps, err := db.ListProjectImports(ctx, s.DB, p.ID)
	if err != nil || len(imps) == 0 {
		return nil, nil, err
	}
	exportIDs := make([]string, len(imps))
	for i, im := range imps {
		exportIDs[i] = im.ExportID
	}
	ms, err := db.ExportedGateways(ctx, s.DB, exportIDs)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	var out []db.Gateway
	names := map[string]string{}
	for _, m := range ms {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		g := new(db.Gateway)
		if err := s.DB.NewSelect().Model(g).Where("id = ?", m.ID).Scan(ctx); err != nil {
			return nil, nil, fmt.Errorf("load imported gateway %s: %w", m.Name, err)
		}
		owner, err := db.GetProjectByID(ctx, s.DB, g.ProjectID)
		if err != nil {
			return nil, nil, err
		}
		names[owner.ID] = owner.Name
		out = append(out, *g)
	}
	return out, names, nil
}

// Get returns a project's gateway.
func (s Gateways) Get(ctx context.Context, p *db.Project, name string) (*schemas.Gateway, error) {
	g, err := s.load(ctx, s.DB, p, name)
	if err != nil {
		return nil, err
	}
	out := gatewaySchema(g, p.Name)
	return &out, nil
}

func (s Gateways) load(ctx context.Context, idb bun.IDB, p *db.Project, name string) (*db.Gateway, error) {
	g, err := db.GetGatewayByName(ctx, idb, p.ID, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Gateway %s not found", name)
	}
	return g, err
}

// Create is refused: this server runs no gateways.
func (s Gateways) Create(ctx context.Context, p *db.Project, configuration json.RawMessage) (*schemas.Gateway, error) {
	var head struct {
		Backend string `json:"backend"`
		Region  string `json:"region"`
	}
	if len(configuration) == 0 || json.Unmarshal(configuration, &head) != nil || head.Backend == "" || head.Region == "" {
		return nil, InvalidField("configuration", "configuration must be a gateway configuration object with a backend and a region")
	}
	return nil, errGatewaysUnsupported
}

// Delete removes gateways by name; naming a missing gateway is an error.
func (s Gateways) Delete(ctx context.Context, p *db.Project, names []string) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ids := make([]string, 0, len(names))
		for _, n := range names {
			g, err := s.load(ctx, tx, p, n)
			if err != nil {
				return err
			}
			ids = append(ids, g.ID)
		}
		s.Log.Info("deleting gateways", "project", p.Name, "gateways", names)
		return db.DeleteGateways(ctx, tx, p.ID, ids)
	})
}

// SetDefault makes a gateway of the project its default. A gateway of
// another project (an imported one) is named by gatewayProject.
func (s Gateways) SetDefault(ctx context.Context, p *db.Project, name string, gatewayProject *string) error {
	if gatewayProject != nil && *gatewayProject != p.Name {
		return Invalid("Gateway %s/%s is not a gateway of project %s: only the project's own gateways can be its default on this server",
			*gatewayProject, name, p.Name)
	}
	g, err := s.load(ctx, s.DB, p, name)
	if err != nil {
		return err
	}
	return db.SetDefaultGateway(ctx, s.DB, p.ID, g.ID)
}

// SetWildcardDomain sets the domain services of the gateway are named under.
func (s Gateways) SetWildcardDomain(ctx context.Context, p *db.Project, name, domain string) (*schemas.Gateway, error) {
	if domain == "" {
		return nil, InvalidField("wildcard_domain", "wildcard_domain must not be empty, e.g. example.com")
	}
	g, err := s.load(ctx, s.DB, p, name)
	if err != nil {
		return nil, err
	}
	g.WildcardDomain = &domain
	var conf map[string]any
	if err := json.Unmarshal([]byte(g.Configuration), &conf); err != nil {
		return nil, fmt.Errorf("decode the configuration of gateway %s: %w", g.Name, err)
	}
	conf["domain"] = domain
	b, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	g.Configuration = string(b)
	if err := db.UpdateGateway(ctx, s.DB, g, "wildcard_domain", "configuration"); err != nil {
		return nil, err
	}
	out := gatewaySchema(g, p.Name)
	return &out, nil
}

func gatewaySchema(g *db.Gateway, project string) schemas.Gateway {
	return schemas.Gateway{ID: g.ID, Name: g.Name, ProjectName: project, Configuration: json.RawMessage(g.Configuration),
		CreatedAt: g.CreatedAt.UTC(), Status: schemas.GatewayStatus(g.Status), StatusMessage: g.StatusMessage,
		Hostname: g.Hostname, WildcardDomain: g.WildcardDomain, Default: g.IsDefault, Replicas: []schemas.GatewayReplica{}}
}
