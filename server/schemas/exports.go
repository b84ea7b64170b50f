package schemas

// Export is a set of fleets and gateways a project shares with the projects
// that import it, or with every project when IsGlobal.
type Export struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	IsGlobal         bool              `json:"is_global"`
	Imports          []ExportImport    `json:"imports"`
	ExportedFleets   []ExportedFleet   `json:"exported_fleets"`
	ExportedGateways []ExportedGateway `json:"exported_gateways"`
}

// ExportImport is a project importing an export.
type ExportImport struct {
	ProjectName string `json:"project_name"`
}

// ExportedFleet is a fleet of an export.
type ExportedFleet struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ExportedGateway is a gateway of an export.
type ExportedGateway struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Import is an export as the importing project sees it.
type Import struct {
	ID     string       `json:"id"`
	Export ImportExport `json:"export"`
}

// ImportExport is the export of an import, with the project that owns it.
type ImportExport struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	ProjectName      string            `json:"project_name"`
	ExportedFleets   []ExportedFleet   `json:"exported_fleets"`
	ExportedGateways []ExportedGateway `json:"exported_gateways"`
}

// CreateExportRequest is the body of exports/create.
type CreateExportRequest struct {
	Name             string   `json:"name"`
	IsGlobal         bool     `json:"is_global"`
	ImporterProjects []string `json:"importer_projects"`
	ExportedFleets   []string `json:"exported_fleets"`
	ExportedGateways []string `json:"exported_gateways"`
}

// UpdateExportRequest is the body of exports/update.
type UpdateExportRequest struct {
	Name                   string   `json:"name"`
	SetGlobal              bool     `json:"set_global"`
	UnsetGlobal            bool     `json:"unset_global"`
	AddImporterProjects    []string `json:"add_importer_projects"`
	RemoveImporterProjects []string `json:"remove_importer_projects"`
	AddExportedFleets      []string `json:"add_exported_fleets"`
	RemoveExportedFleets   []string `json:"remove_exported_fleets"`
	AddExportedGateways    []string `json:"add_exported_gateways"`
	RemoveExportedGateways []string `json:"remove_exported_gateways"`
}

// DeleteExportRequest names an export.
type DeleteExportRequest struct {
	Name string `json:"name"`
}

// DeleteImportRequest names an import by its export: imports have no name.
type DeleteImportRequest struct {
	ExportName        string `json:"export_name"`
	ExportProjectName string `json:"export_project_name"`
}
