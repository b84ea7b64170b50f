package db

import (
	"context"

	"github.com/uptrace/bun"
)

// ListPublicKeys returns a user's registered SSH public keys, oldest first.
func ListPublicKeys(ctx context.Context, idb bun.IDB, userID string) ([]PublicKey, error) {
	var ks []PublicKey
	err := idb.NewSelect().Model(&ks).Where("user_id = ?", userID).OrderExpr("added_at, id").Scan(ctx)
	return ks, mapErr(err)
}

// InsertPublicKey registers a key; ErrConflict if the user already has it.
func InsertPublicKey(ctx context.Context, idb bun.IDB, k *PublicKey) error {
	_, err := idb.NewInsert().Model(k).Exec(ctx)
	return mapErr(err)
}

// DeletePublicKeys removes a user's keys by id.
func DeletePublicKeys(ctx context.Context, idb bun.IDB, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := idb.NewDelete().Model((*PublicKey)(nil)).
		Where("user_id = ?", userID).Where("id IN (?)", bun.In(ids)).Exec(ctx)
	return mapErr(err)
}

// FindUsersByKeyFingerprint returns the live users who registered a key
// with this fingerprint.
func FindUsersByKeyFingerprint(ctx context.Context, idb bun.IDB, fingerprint string) ([]User, error) {
	var us []User
	sub := idb.NewSelect().Model((*PublicKey)(nil)).Column("user_id").Where("fingerprint = ?", fingerprint)
	err := idb.NewSelect().Model(&us).Where("id IN (?)", sub).Where("deleted = ?", false).Where("active = ?", true).Scan(ctx)
	return us, mapErr(err)
}
