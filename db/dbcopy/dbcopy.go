// Package dbcopy moves a server's state from SQLite to PostgreSQL in one
// step: it applies the migrations to an empty target, copies every table
// in foreign-key order in batches, and verifies each table's row count and
// checksum on both sides. Values are copied as stored, so encrypted values
// stay sealed with the same keys (and bound to the same rows).
package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dstackgo/dstack/db"
)

// Options tune Copy.
type Options struct {
	// Batch is the rows per INSERT; 1000 by default.
	Batch int
	// Progress is told of each batch copied and of each table verified.
	Progress func(Event)
}

// Event reports progress: rows copied of a table's total, or a table verified.
type Event struct {
	Table       string
	Done, Total int64
	Verified    bool
}

// TableReport is one table's outcome.
type TableReport struct {
	Table    string
	Rows     int64
	Checksum string
}

// Report is what Copy did.
type Report struct {
	Tables   []TableReport
	Rows     int64
	Duration time.Duration
}

// ErrTargetNotEmpty is returned when the target database already has tables.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// skipped are bookkeeping tables: migrations are applied to the target, not
// copied.
var skipped = map[string]bool{"schema_migrations": true}

// Copy copies src (SQLite, migrated) into dst (PostgreSQL, empty): it
// migrates dst, copies each table and verifies it.
func Copy(ctx context.Context, src, dst *db.DB, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Progress == nil {
		opts.Progress = func(Event) {}
	}
	if src.Target.Dialect != db.SQLite || dst.Target.Dialect != db.Postgres {
		return nil, fmt.Errorf("copy goes from SQLite to PostgreSQL, not from %s to %s", src.Target.Dialect, dst.Target.Dialect)
	}
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	if _, err := src.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("bring the source up to date: %w", err)
	}
	if _, err := dst.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("apply migrations to the target: %w", err)
	}
	tables, err := tablesInOrder(ctx, src)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	for _, t := range tables {
		cols, err := targetColumns(ctx, dst, t)
		if err != nil {
			return nil, err
		}
		n, err := copyTable(ctx, src, dst, t, cols, opts)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t, err)
		}
		tr, err := verify(ctx, src, dst, t, cols)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", t, err)
		}
		opts.Progress(Event{Table: t, Done: n, Total: n, Verified: true})
		rep.Tables = append(rep.Tables, *tr)
		rep.Rows += tr.Rows
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// checkEmpty refuses a target with any table in its schema.
func checkEmpty(ctx context.Context, dst *db.DB) error {
	var names []string
	err := dst.NewSelect().TableExpr("information_schema.tables").Column("table_name").
		Where("table_schema = current_schema()").OrderExpr("table_name").Scan(ctx, &names)
	if err != nil {
		return fmt.Errorf("list the target's tables: %w", err)
	}
	if len(names) > 0 {
		if len(names) > 5 {
			names = append(names[:5], "…")
		}
		return fmt.Errorf("%w: it has tables (%s); migrate into a new, empty database", ErrTargetNotEmpty, strings.Join(names, ", "))
	}
	return nil
}

// tablesInOrder lists the source's tables with every table after those its
// foreign keys point to.
func tablesInOrder(ctx context.Context, src *db.DB) ([]string, error) {
	var names []string
	err := src.NewSelect().TableExpr("sqlite_master").Column("name").
		Where("type = 'table'").Where("name NOT LIKE 'sqlite_%'").OrderExpr("name").Scan(ctx, &names)
	if err != nil {
		return nil, fmt.Errorf("list the source's tables: %w", err)
	}
	deps := map[string][]string{}
	for _, n := range names {
		if skipped[n] {
			continue
		}
		var parents []string
		if err := src.NewRaw(`SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n).Scan(ctx, &parents); err != nil {
			return nil, fmt.Errorf("read foreign keys of %s: %w", n, err)
		}
		deps[n] = parents
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, p := range deps[n] {
			if _, ok := deps[p]; ok && p != n {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	keys := make([]string, 0, len(deps))
	for n := range deps {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}
