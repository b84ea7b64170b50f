package db

import (
	"context"

	"github.com/uptrace/bun"
)

// insertRow stores a new row of any model.
func insertRow(ctx context.Context, idb bun.IDB, model any) error {
	_, err := writeWithEvents(ctx, idb, sources(model), func(idb bun.IDB) (bool, error) {
		_, err := idb.NewInsert().Model(model).Exec(ctx)
		return err == nil, mapErr(err)
	})
	return err
}

// updateRow writes the named columns of a row by its primary key;
// ErrNotFound when the row is gone.
func updateRow(ctx context.Context, idb bun.IDB, model any, columns ...string) error {
	_, err := writeWithEvents(ctx, idb, sources(model), func(idb bun.IDB) (bool, error) {
		res, err := idb.NewUpdate().Model(model).Column(columns...).WherePK().Exec(ctx)
		if err != nil {
			return false, mapErr(err)
		}
		return true, expectRow(res)
	})
	return err
}
