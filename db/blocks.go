package db

import (
	"context"

	"github.com/uptrace/bun"
)

// ReserveBlocks takes blocks of an instance for a job, only if they are
// still free: the check and the update are one statement, so two replicas
// placing jobs at once never double-book an instance.
func ReserveBlocks(ctx context.Context, idb bun.IDB, instanceID string, blocks int) (bool, error) {
	res, err := idb.ExecContext(ctx, `UPDATE instances SET busy_blocks = busy_blocks + ?, status = 'busy'
		WHERE id = ? AND deleted = FALSE AND status IN ('idle', 'busy') AND unreachable = FALSE
		AND total_blocks IS NOT NULL AND busy_blocks + ? <= total_blocks`, blocks, instanceID, blocks)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseBlocks gives a job's blocks back; an instance with no busy blocks
// left becomes idle.
func ReleaseBlocks(ctx context.Context, idb bun.IDB, instanceID string, blocks int) error {
	_, err := idb.ExecContext(ctx, `UPDATE instances SET
		busy_blocks = CASE WHEN busy_blocks > ? THEN busy_blocks - ? ELSE 0 END,
		status = CASE WHEN status = 'busy' AND busy_blocks <= ? THEN 'idle' ELSE status END
		WHERE id = ?`, blocks, blocks, blocks, instanceID)
	return mapErr(err)
}
