package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

//go:embed migrations
var migrationsFS embed.FS

// Migration is one frozen SQL file of a dialect's folder.
type Migration struct {
	Name string
	SQL  string
}

// Migrations lists the embedded migrations of a dialect in apply order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations of %s: %w", d, err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := migrationsFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Name: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Migrate applies every migration not applied yet, each in its own
// transaction that also records it, so a migration is marked applied only
// when it succeeded. On PostgreSQL it runs under an advisory lock, so several
// replicas starting at once apply each migration exactly once.
func (d *DB) Migrate(ctx context.Context) (applied []string, err error) {
	ms, err := Migrations(d.Target.Dialect)
	if err != nil {
		return nil, err
	}
	unlock, err := d.AdvisoryLock(ctx, "migrations")
	if err != nil {
		return nil, err
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if _, err := d.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var done []string
	if err := d.NewSelect().Table("schema_migrations").Column("name").Scan(ctx, &done); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(done, m.Name) {
			continue
		}
		if err := d.apply(ctx, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

func (d *DB) apply(ctx context.Context, m Migration) error {
	err := d.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		for _, stmt := range splitStatements(m.SQL) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
			m.Name, time.Now().UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("apply migration %s: %w", m.Name, err)
	}
	return nil
}

// splitStatements cuts a migration file at semicolons that end a line.
// Migration files keep one statement per semicolon-terminated block.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") && cur.Len() == 0 {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// AdvisoryLock takes a named, database-wide lock held until the returned
// function is called. On PostgreSQL it is pg_advisory_lock on a dedicated
// connection; on SQLite the process already holds the file guard, so it is a
// no-op.
func (d *DB) AdvisoryLock(ctx context.Context, name string) (func() error, error) {
	if !d.IsPostgres() {
		return func() error { return nil }, nil
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	key := lockKey(name)
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", key); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", key)
		return errors.Join(err, conn.Close())
	}, nil
}

// lockKey maps a lock name to a 63-bit advisory lock key.
func lockKey(name string) int64 {
	sum := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}
