package db

import (
	"context"

	"github.com/uptrace/bun"
)

// ListSecrets returns a project's secrets ordered by name.
func ListSecrets(ctx context.Context, idb bun.IDB, projectID string) ([]Secret, error) {
	var ss []Secret
	err := idb.NewSelect().Model(&ss).Where("project_id = ?", projectID).OrderExpr("name").Scan(ctx)
	return ss, mapErr(err)
}

// GetSecret finds a project's secret by exact name.
func GetSecret(ctx context.Context, idb bun.IDB, projectID, name string) (*Secret, error) {
	s := new(Secret)
	err := idb.NewSelect().Model(s).Where("project_id = ?", projectID).Where("name = ?", name).Scan(ctx)
	return s, mapErr(err)
}

// InsertSecret stores a new secret.
func InsertSecret(ctx context.Context, idb bun.IDB, s *Secret) error {
	return insertRow(ctx, idb, s)
}

// UpdateSecretValue replaces a secret's stored value.
func UpdateSecretValue(ctx context.Context, idb bun.IDB, s *Secret) error {
	res, err := idb.NewUpdate().Model(s).Column("value", "updated_at").WherePK().Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// DeleteSecrets removes a project's secrets by name and reports how many went.
func DeleteSecrets(ctx context.Context, idb bun.IDB, projectID string, names []string) (int, error) {
	if len(names) == 0 {
		return 0, nil
	}
	res, err := idb.NewDelete().Model((*Secret)(nil)).
		Where("project_id = ?", projectID).Where("name IN (?)", bun.In(names)).Exec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
