package db

import (
	"context"

	"github.com/uptrace/bun"
)

// insertRow stores a new row of any model.
func insertRow(ctx context.Context, idb bun.IDB, model any) error {
	_, err := idb.NewInsert().Model(model).Exec(ctx)
	return mapErr(err)
}

// updateRow writes the named columns of a row by its primary key;
// ErrNotFound when the row is gone.
func updateRow(ctx context.Context, idb bun.IDB, model any, columns ...string) error {
	res, err := idb.NewUpdate().Model(model).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}
