package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Claim describes a batch claim of a pipeline.
type Claim struct {
	// Table is the leased table (fleets, instances, runs, jobs).
	Table string
	// Where selects the rows the pipeline handles (e.g. "status IN ('pending')").
	// It must be written without bind placeholders.
	Where string
	// Owner names the pipeline and replica holding the lease.
	Owner string
	// Limit caps the batch.
	Limit int
	// TTL is how long the lease holds before another replica may take it.
	TTL time.Duration
	// ProcessedBefore skips rows processed after it; zero means no such
	// filter.
	ProcessedBefore time.Time
	// MinInterval skips rows processed less than MinInterval ago, measured
	// on the claim's clock (the database's on PostgreSQL, see Clock): the
	// pipeline's minimum interval, which a replica whose own clock is off
	// can neither shorten nor stretch. Zero means no such filter.
	MinInterval time.Duration
	// Eager selects rows claimed regardless of ProcessedBefore: rows another
	// pipeline has just handed over, which should not wait out the minimum
	// interval. Like Where, it is written without bind placeholders; it may
	// refer to the claimed table by its name.
	Eager string
}

// ClaimRows leases up to c.Limit unleased (or expired) rows in one statement
// and returns their ids and the batch's lock token. On PostgreSQL the
// candidate rows are locked with FOR UPDATE SKIP LOCKED, so replicas
// claiming at once get disjoint batches; SQLite has one writer at a time.
func ClaimRows(ctx context.Context, idb bun.IDB, c Claim, now time.Time) (ids []string, token string, err error) {
	token = uuid.NewString()
	skip := ""
	if idb.Dialect().Name() == dialect.PG {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var cond strings.Builder
	cond.WriteString("(lock_expires_at IS NULL OR lock_expires_at < ?now)")
	if c.Where != "" {
		cond.WriteString(" AND (" + c.Where + ")")
	}
	args := []any{bun.Safe(c.Table), c.Owner, token, now.Add(c.TTL), bun.Safe(c.Table)}
	if c.MinInterval > 0 {
		if b := now.Add(-c.MinInterval); c.ProcessedBefore.IsZero() || b.Before(c.ProcessedBefore) {
			c.ProcessedBefore = b
		}
	}
	if !c.ProcessedBefore.IsZero() {
		if c.Eager != "" {
			cond.WriteString(" AND (last_processed_at <= ?before OR (" + c.Eager + "))")
		} else {
			cond.WriteString(" AND last_processed_at <= ?before")
		}
	}
	q := "UPDATE ? SET lock_owner = ?, lock_token = ?, lock_expires_at = ? WHERE id IN (" +
		"SELECT id FROM ? WHERE " + cond.String() + " ORDER BY last_processed_at LIMIT ?limit" + skip + ") RETURNING id"
	q = strings.NewReplacer("?now", "?", "?before", "?", "?limit", "?").Replace(q)
	args = append(args, now)
	if !c.ProcessedBefore.IsZero() {
		args = append(args, c.ProcessedBefore)
	}
	args = append(args, c.Limit)
	rows, err := idb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("claim %s: %w", c.Table, mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, "", fmt.Errorf("claim %s: %w", c.Table, err)
		}
		ids = append(ids, id)
	}
	return ids, token, rows.Err()
}

// processedAt is the last_processed_at a pipeline's write stamps: the
// database's clock on PostgreSQL, where MinInterval is measured, so that a
// replica whose clock jumped ahead cannot hide a row from the others (nor
// one whose clock fell behind make it due at once); now on SQLite.
func processedAt(idb bun.IDB, now time.Time) any {
	if idb.Dialect().Name() == dialect.PG {
		return bun.Safe("clock_timestamp()")
	}
	return now
}

// ReleaseRow ends a lease and stamps last_processed_at, only if the row is
// still held under token (a lease that expired and was taken over is left
// to its new holder). It reports whether the row was still held.
func ReleaseRow(ctx context.Context, idb bun.IDB, table, id, token string, now time.Time) (bool, error) {
	res, err := idb.ExecContext(ctx,
		"UPDATE ? SET lock_owner = NULL, lock_token = NULL, lock_expires_at = NULL, last_processed_at = ? WHERE id = ? AND lock_token = ?",
		bun.Safe(table), processedAt(idb, now), id, token)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ExtendLeases pushes the expiry of every row of table still held under
// token (a batch's rows share one), for work that outlasts the TTL; rows
// released or taken over meanwhile are left alone. It returns how many
// leases it extended.
func ExtendLeases(ctx context.Context, idb bun.IDB, table, token string, until time.Time) (int, error) {
	res, err := idb.ExecContext(ctx, "UPDATE ? SET lock_expires_at = ? WHERE lock_token = ?", bun.Safe(table), until, token)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Clock is the time leases are measured in: the database's clock on
// PostgreSQL, which every replica shares (their own clocks may disagree by
// more than a lease is long); the machine's on SQLite, whose database is
// local to the one process that may open it.
func Clock(ctx context.Context, idb bun.IDB) (time.Time, error) {
	if idb.Dialect().Name() != dialect.PG {
		return time.Now().UTC(), nil
	}
	var now time.Time
	if err := idb.NewRaw("SELECT clock_timestamp()").Scan(ctx, &now); err != nil {
		return time.Time{}, fmt.Errorf("read the database clock: %w", mapErr(err))
	}
	return now.UTC(), nil
}

// IsLeased reports whether a row is held by a pipeline right now; API
// handlers that must not race a pipeline refuse while it is.
func IsLeased(l Lease, now time.Time) bool {
	return l.LockExpiresAt != nil && l.LockExpiresAt.After(now)
}

// UpdateLeased writes the named columns of model (a row struct with an id
// primary key) and ends the lease, in one statement that only applies while
// the row is still held under token. It reports whether it applied; false
// means the lease expired and another holder owns the row now.
func UpdateLeased(ctx context.Context, idb bun.IDB, model any, token string, now time.Time, columns ...string) (bool, error) {
	return writeWithEvents(ctx, idb, sources(model), func(idb bun.IDB) (bool, error) {
		return updateLeased(ctx, idb, model, token, now, columns...)
	})
}

// UpdateLeasedIfStatus is UpdateLeased applied only while the row's stored
// status is still status.
func UpdateLeasedIfStatus(ctx context.Context, idb bun.IDB, model any, token, status string, now time.Time, columns ...string) (bool, error) {
	return writeWithEvents(ctx, idb, sources(model), func(idb bun.IDB) (bool, error) {
		return updateLeasedWhere(ctx, idb, model, token, now, status, columns...)
	})
}

// WriteHeld writes the named columns of model while the row is still held
// under token, and keeps the lease: for progress that must be stored before
// a slow step (a VM being created) whose outcome ends the lease later. It
// reports whether it applied; false means another holder owns the row now.
func WriteHeld(ctx context.Context, idb bun.IDB, model any, token string, columns ...string) (bool, error) {
	return writeWithEvents(ctx, idb, sources(model), func(idb bun.IDB) (bool, error) {
		res, err := idb.NewUpdate().Model(model).Column(columns...).WherePK().Where("lock_token = ?", token).Exec(ctx)
		if err != nil {
			return false, mapErr(err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
}

func updateLeased(ctx context.Context, idb bun.IDB, model any, token string, now time.Time, columns ...string) (bool, error) {
	return updateLeasedWhere(ctx, idb, model, token, now, "", columns...)
}

// updateLeasedWhere is the statement of UpdateLeased, with a status
// condition unless status is empty.
func updateLeasedWhere(ctx context.Context, idb bun.IDB, model any, token string, now time.Time, status string, columns ...string) (bool, error) {
	q := idb.NewUpdate().Model(model).Column(columns...).WherePK().Where("lock_token = ?", token)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	res, err := q.Set("lock_owner = NULL").Set("lock_token = NULL").Set("lock_expires_at = NULL").
		Set("last_processed_at = ?", processedAt(idb, now)).Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
