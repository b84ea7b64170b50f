package db

import (
	"context"
	"sort"
	"time"

	"github.com/uptrace/bun"
)

// Export is a row of exports: fleets and gateways a project shares with the
// projects that import it, or with every project when IsGlobal.
type Export struct {
	bun.BaseModel `bun:"table:exports,alias:e"`

	ID        string    `bun:"id,pk"`
	ProjectID string    `bun:"project_id"`
	Name      string    `bun:"name"`
	IsGlobal  bool      `bun:"is_global"`
	CreatedAt time.Time `bun:"created_at"`
}

// ExportedFleet is a row of exported_fleets.
type ExportedFleet struct {
	bun.BaseModel `bun:"table:exported_fleets,alias:ef"`

	ExportID string `bun:"export_id,pk"`
	FleetID  string `bun:"fleet_id,pk"`
}

// ExportedGateway is a row of exported_gateways.
type ExportedGateway struct {
	bun.BaseModel `bun:"table:exported_gateways,alias:eg"`

	ExportID  string `bun:"export_id,pk"`
	GatewayID string `bun:"gateway_id,pk"`
}

// Import is a row of imports: a project that imports an export.
type Import struct {
	bun.BaseModel `bun:"table:imports,alias:im"`

	ID        string    `bun:"id,pk"`
	ExportID  string    `bun:"export_id"`
	ProjectID string    `bun:"project_id"`
	CreatedAt time.Time `bun:"created_at"`
}

// ExportMember is one named member of an export: an exported fleet or
// gateway (ID, Name), or an importing project (ID, Name of the project).
type ExportMember struct {
	ExportID string `bun:"export_id"`
	ID       string `bun:"id"`
	Name     string `bun:"name"`
}

// InsertExport stores a new export.
func InsertExport(ctx context.Context, idb bun.IDB, e *Export) error {
	return insertRow(ctx, idb, e)
}

// UpdateExport writes the named columns of e.
func UpdateExport(ctx context.Context, idb bun.IDB, e *Export, columns ...string) error {
	return updateRow(ctx, idb, e, columns...)
}

// DeleteExport removes an export with its members and imports.
func DeleteExport(ctx context.Context, idb bun.IDB, id string) error {
	res, err := idb.NewDelete().Model((*Export)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// GetExportByName finds a project's export by name.
func GetExportByName(ctx context.Context, idb bun.IDB, projectID, name string) (*Export, error) {
	e := new(Export)
	err := idb.NewSelect().Model(e).Where("project_id = ?", projectID).Where("name = ?", name).Scan(ctx)
	return e, mapErr(err)
}

// ListExports returns a project's exports, newest first.
func ListExports(ctx context.Context, idb bun.IDB, projectID string) ([]Export, error) {
	var es []Export
	err := idb.NewSelect().Model(&es).Where("project_id = ?", projectID).OrderExpr("created_at DESC, id").Scan(ctx)
	return es, mapErr(err)
}

// ExportedFleets returns the live fleets of the given exports, by name.
func ExportedFleets(ctx context.Context, idb bun.IDB, exportIDs []string) ([]ExportMember, error) {
	return exportMembers(ctx, idb, exportIDs, "exported_fleets AS x JOIN fleets AS t ON t.id = x.fleet_id AND t.deleted = FALSE")
}

// ExportedGateways returns the gateways of the given exports, by name.
func ExportedGateways(ctx context.Context, idb bun.IDB, exportIDs []string) ([]ExportMember, error) {
	return exportMembers(ctx, idb, exportIDs, "exported_gateways AS x JOIN gateways AS t ON t.id = x.gateway_id")
}

// ExportImporters returns the live projects that import the given exports,
// by name.
func ExportImporters(ctx context.Context, idb bun.IDB, exportIDs []string) ([]ExportMember, error) {
	return exportMembers(ctx, idb, exportIDs, "imports AS x JOIN projects AS t ON t.id = x.project_id AND t.deleted = FALSE")
}

func exportMembers(ctx context.Context, idb bun.IDB, exportIDs []string, from string) ([]ExportMember, error) {
	if len(exportIDs) == 0 {
		return nil, nil
	}
	var ms []ExportMember
	err := idb.NewSelect().TableExpr(from).ColumnExpr("x.export_id, t.id, t.name").
		Where("x.export_id IN (?)", bun.In(exportIDs)).OrderExpr("t.name").Scan(ctx, &ms)
	return ms, mapErr(err)
}

// AddExportedFleets, AddExportedGateways and AddImports add members to an
// export.
func AddExportedFleets(ctx context.Context, idb bun.IDB, exportID string, fleetIDs []string) error {
	rows := make([]ExportedFleet, len(fleetIDs))
	for i, id := range fleetIDs {
		rows[i] = ExportedFleet{ExportID: exportID, FleetID: id}
	}
	return insertRows(ctx, idb, &rows, len(rows))
}

// AddExportedGateways adds gateways to an export.
func AddExportedGateways(ctx context.Context, idb bun.IDB, exportID string, gatewayIDs []string) error {
	rows := make([]ExportedGateway, len(gatewayIDs))
	for i, id := range gatewayIDs {
		rows[i] = ExportedGateway{ExportID: exportID, GatewayID: id}
	}
	return insertRows(ctx, idb, &rows, len(rows))
}

// AddImports makes projects import an export.
func AddImports(ctx context.Context, idb bun.IDB, rows []Import) error {
	return insertRows(ctx, idb, &rows, len(rows))
}

func insertRows(ctx context.Context, idb bun.IDB, rows any, n int) error {
	if n == 0 {
		return nil
	}
	return insertRow(ctx, idb, rows)
}

// RemoveExportMembers removes members from an export: table is
// exported_fleets (fleet_id), exported_gateways (gateway_id) or imports
// (project_id).
func RemoveExportMembers(ctx context.Context, idb bun.IDB, exportID, table, column string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := idb.NewDelete().TableExpr(table).Where("export_id = ?", exportID).
		Where("? IN (?)", bun.Ident(column), bun.In(ids)).Exec(ctx)
	return mapErr(err)
}

// ProjectImport is an export a project imports: through an imports row, or
// a global export of another project (then ImportID is the export's id).
type ProjectImport struct {
	ImportID      string    `bun:"import_id"`
	ExportID      string    `bun:"export_id"`
	ExportName    string    `bun:"export_name"`
	ExportProject string    `bun:"export_project"`
	CreatedAt     time.Time `bun:"created_at"`
}

// ListProjectImports returns the exports a project imports, newest first.
func ListProjectImports(ctx context.Context, idb bun.IDB, projectID string) ([]ProjectImport, error) {
	var named, global []ProjectImport
	err := idb.NewSelect().TableExpr("imports AS im").
		ColumnExpr("im.id AS import_id, e.id AS export_id, e.name AS export_name, p.name AS export_project, im.created_at").
		Join("JOIN exports AS e ON e.id = im.export_id").Join("JOIN projects AS p ON p.id = e.project_id").
		Where("im.project_id = ?", projectID).Where("p.deleted = ?", false).Scan(ctx, &named)
	if err != nil {
		return nil, mapErr(err)
	}
	err = idb.NewSelect().TableExpr("exports AS e").
		ColumnExpr("e.id AS import_id, e.id AS export_id, e.name AS export_name, p.name AS export_project, e.created_at").
		Join("JOIN projects AS p ON p.id = e.project_id").
		Where("e.is_global = ?", true).Where("e.project_id <> ?", projectID).Where("p.deleted = ?", false).
		Where("NOT EXISTS (SELECT 1 FROM imports AS im WHERE im.export_id = e.id AND im.project_id = ?)", projectID).
		Scan(ctx, &global)
	if err != nil {
		return nil, mapErr(err)
	}
	out := append(named, global...)
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].CreatedAt.Equal(out[b].CreatedAt) {
			return out[a].CreatedAt.After(out[b].CreatedAt)
		}
		return out[a].ImportID < out[b].ImportID
	})
	return out, nil
}

// ImportedFleet is a live fleet another project exports to a project.
type ImportedFleet struct {
	FleetID     string `bun:"fleet_id"`
	ProjectID   string `bun:"project_id"`
	ProjectName string `bun:"project_name"`
}

// ListImportedFleets returns the live fleets other projects export to the
// project, each once.
func ListImportedFleets(ctx context.Context, idb bun.IDB, projectID string) ([]ImportedFleet, error) {
	var out []ImportedFleet
	err := idb.NewRaw(`SELECT DISTINCT f.id AS fleet_id, p.id AS project_id, p.name AS project_name
		FROM exported_fleets AS ef JOIN exports AS e ON e.id = ef.export_id
		JOIN fleets AS f ON f.id = ef.fleet_id JOIN projects AS p ON p.id = e.project_id
		WHERE f.deleted = FALSE AND p.deleted = FALSE AND e.project_id <> ?
		  AND (e.is_global = TRUE OR EXISTS (SELECT 1 FROM imports AS im WHERE im.export_id = e.id AND im.project_id = ?))
		ORDER BY f.id`, projectID, projectID).Scan(ctx, &out)
	return out, mapErr(err)
}
