package db

import (
	"context"

	"github.com/uptrace/bun"
)

// ListBackends returns the backends of projects (all projects when none
// given), by project and type.
func ListBackends(ctx context.Context, idb bun.IDB, projectIDs ...string) ([]Backend, error) {
	var bs []Backend
	q := idb.NewSelect().Model(&bs).OrderExpr("project_id, type")
	if len(projectIDs) > 0 {
		q = q.Where("project_id IN (?)", bun.In(projectIDs))
	}
	err := q.Scan(ctx)
	return bs, mapErr(err)
}

// GetBackend finds a project's backend of a type.
func GetBackend(ctx context.Context, idb bun.IDB, projectID, typ string) (*Backend, error) {
	b := new(Backend)
	err := idb.NewSelect().Model(b).Where("project_id = ?", projectID).Where("type = ?", typ).Scan(ctx)
	return b, mapErr(err)
}

// InsertBackend stores a new backend (ErrConflict when the project has one
// of the type).
func InsertBackend(ctx context.Context, idb bun.IDB, b *Backend) error {
	return insertRow(ctx, idb, b)
}

// UpdateBackend replaces a backend's configuration and credentials.
func UpdateBackend(ctx context.Context, idb bun.IDB, b *Backend) error {
	res, err := idb.NewUpdate().Model(b).Column("config", "auth", "source_config", "source_auth").WherePK().Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// DeleteBackends removes a project's backends of types and reports how
// many went.
func DeleteBackends(ctx context.Context, idb bun.IDB, projectID string, types []string) (int, error) {
	if len(types) == 0 {
		return 0, nil
	}
	res, err := idb.NewDelete().Model((*Backend)(nil)).Where("project_id = ?", projectID).Where("type IN (?)", bun.In(types)).Exec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
