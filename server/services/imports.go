package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Imports lists and drops the exports a project imports.
type Imports struct{ *Env }

// List returns the exports a project imports (named imports and other
// projects' global exports), newest first.
func (s Imports) List(ctx context.Context, p *db.Project) ([]schemas.Import, error) {
	imps, err := db.ListProjectImports(ctx, s.DB, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	ids := make([]string, len(imps))
	for i, im := range imps {
		ids[i] = im.ExportID
	}
	fleets, err := db.ExportedFleets(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	gateways, err := db.ExportedGateways(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Import, len(imps))
	for i, im := range imps {
		out[i] = schemas.Import{ID: im.ImportID, Export: schemas.ImportExport{ID: im.ExportID, Name: im.ExportName,
			ProjectName: im.ExportProject, ExportedFleets: membersOf(fleets, im.ExportID), ExportedGateways: []schemas.ExportedGateway{}}}
		for _, g := range membersOf(gateways, im.ExportID) {
			out[i].Export.ExportedGateways = append(out[i].Export.ExportedGateways, schemas.ExportedGateway(g))
		}
	}
	return out, nil
}

// Delete stops a project importing an export. A global export cannot be
// dropped by an importer: its project unsets the flag instead.
func (s Imports) Delete(ctx context.Context, p *db.Project, exportProject, exportName string) error {
	ep, err := db.GetProjectByName(ctx, s.DB, exportProject)
	if errors.Is(err, db.ErrNotFound) {
		return NotFound("Import %s/%s not found in project %q", exportProject, exportName, p.Name)
	} else if err != nil {
		return err
	}
	e, err := db.GetExportByName(ctx, s.DB, ep.ID, exportName)
	if errors.Is(err, db.ErrNotFound) {
		return NotFound("Import %s/%s not found in project %q", exportProject, exportName, p.Name)
	} else if err != nil {
		return err
	}
	imps, err := db.ExportImporters(ctx, s.DB, []string{e.ID})
	if err != nil {
		return err
	}
	for _, m := range imps {
		if m.ID == p.ID {
			return db.RemoveExportMembers(ctx, s.DB, e.ID, "imports", "project_id", []string{p.ID})
		}
	}
	if e.IsGlobal {
		return Invalid("Export %s/%s is global: every project imports it. Ask an admin of project %q to unset its global flag",
			exportProject, exportName, exportProject)
	}
	return NotFound("Import %s/%s not found in project %q", exportProject, exportName, p.Name)
}

// isSSHFleet reports whether the fleet is an SSH fleet (the only kind that
// can be exported).
func isSSHFleet(f *db.Fleet) bool {
	var spec schemas.FleetSpec
	return json.Unmarshal([]byte(f.Spec), &spec) == nil && spec.Configuration.SSHConfig != nil
}
