package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// GetHostKey returns the pinned key of host:port.
func GetHostKey(ctx context.Context, idb bun.IDB, host string, port int) (*HostKey, error) {
	k := new(HostKey)
	err := idb.NewSelect().Model(k).Where("host = ?", host).Where("port = ?", port).Scan(ctx)
	return k, mapErr(err)
}

// PinHostKey records the first key seen for host:port; a key already
// pinned is kept (the first writer wins).
func PinHostKey(ctx context.Context, idb bun.IDB, host string, port int, key string, now time.Time) error {
	_, err := idb.NewInsert().Model(&HostKey{Host: host, Port: port, Key: key, CreatedAt: now}).
		On("CONFLICT (host, port) DO NOTHING").Exec(ctx)
	return mapErr(err)
}

// ForgetHostKey removes the pinned key of host:port, so that the next
// connection pins anew, unless a live instance other than the one leaving
// (instanceID) is reached at that address: a pin belongs to the instances
// that use it, and one project removing a host must not reset the pin of
// another's.
func ForgetHostKey(ctx context.Context, idb bun.IDB, host string, port int, address, instanceID string) error {
	used := idb.NewSelect().Model((*Instance)(nil)).ColumnExpr("1").Where("host_address = ?", address).
		Where("id != ?", instanceID).Where("deleted = ?", false).Where("status != 'terminated'")
	_, err := idb.NewDelete().Model((*HostKey)(nil)).Where("host = ?", host).Where("port = ?", port).
		Where("NOT EXISTS (?)", used).Exec(ctx)
	return mapErr(err)
}
