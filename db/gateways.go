package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Gateway is a row of gateways. Configuration is JSON.
type Gateway struct {
	bun.BaseModel `bun:"table:gateways,alias:g"`

	ID             string    `bun:"id,pk"`
	ProjectID      string    `bun:"project_id"`
	Name           string    `bun:"name"`
	CreatedAt      time.Time `bun:"created_at"`
	Status         string    `bun:"status"`
	StatusMessage  *string   `bun:"status_message"`
	Configuration  string    `bun:"configuration"`
	WildcardDomain *string   `bun:"wildcard_domain"`
	Hostname       *string   `bun:"hostname"`
	IsDefault      bool      `bun:"is_default"`
}

// InsertGateway stores a new gateway.
func InsertGateway(ctx context.Context, idb bun.IDB, g *Gateway) error {
	return insertRow(ctx, idb, g)
}

// UpdateGateway writes the named columns of g.
func UpdateGateway(ctx context.Context, idb bun.IDB, g *Gateway, columns ...string) error {
	return updateRow(ctx, idb, g, columns...)
}

// ListGateways returns the gateways of the given projects ordered by
// project and name.
func ListGateways(ctx context.Context, idb bun.IDB, projectIDs []string) ([]Gateway, error) {
	if len(projectIDs) == 0 {
		return nil, nil
	}
	var gs []Gateway
	err := idb.NewSelect().Model(&gs).Where("project_id IN (?)", bun.In(projectIDs)).
		OrderExpr("project_id, name").Scan(ctx)
	return gs, mapErr(err)
}

// GetGatewayByName finds a project's gateway by name.
func GetGatewayByName(ctx context.Context, idb bun.IDB, projectID, name string) (*Gateway, error) {
	g := new(Gateway)
	err := idb.NewSelect().Model(g).Where("project_id = ?", projectID).Where("name = ?", name).Scan(ctx)
	return g, mapErr(err)
}

// SetDefaultGateway makes the named gateway the project's only default.
func SetDefaultGateway(ctx context.Context, idb bun.IDB, projectID, id string) error {
	if _, err := idb.NewUpdate().Model((*Gateway)(nil)).Set("is_default = ?", false).
		Where("project_id = ?", projectID).Where("id <> ?", id).Exec(ctx); err != nil {
		return mapErr(err)
	}
	res, err := idb.NewUpdate().Model((*Gateway)(nil)).Set("is_default = ?", true).
		Where("project_id = ?", projectID).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// DeleteGateways removes a project's gateways by id.
func DeleteGateways(ctx context.Context, idb bun.IDB, projectID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := idb.NewDelete().Model((*Gateway)(nil)).Where("project_id = ?", projectID).
		Where("id IN (?)", bun.In(ids)).Exec(ctx)
	return mapErr(err)
}
