package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// DB is an open database with its migrations applied.
type DB struct {
	*bun.DB
	Target Target
	unlock func() error
}

// Options tune Open.
type Options struct {
	// Logger receives slow or failed queries at debug level; nil discards.
	Logger *slog.Logger
	// PoolSize caps open connections on PostgreSQL (DSTACK_DB_POOL_SIZE + overflow).
	PoolSize int
	// ConnectTimeout bounds the first contact with PostgreSQL.
	ConnectTimeout time.Duration
}

// Open connects to the target, takes the single-writer guard on SQLite, and
// checks that the database answers. It does not migrate: call Migrate.
func Open(ctx context.Context, t Target, o Options) (*DB, error) {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	var (
		d   *DB
		err error
	)
	switch t.Dialect {
	case SQLite:
		d, err = openSQLite(t)
	case Postgres:
		d, err = openPostgres(t, o)
	default:
		return nil, fmt.Errorf("unknown database dialect %q", t.Dialect)
	}
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		d.AddQueryHook(queryLogger{log: o.Logger})
	}
	pctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	if err := d.PingContext(pctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("connect to %s: %w", t, err)
	}
	return d, nil
}

func openSQLite(t Target) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	unlock, err := lockFile(t.Path + ".lock")
	if err != nil {
		return nil, err
	}
	dsn := "file:" + t.Path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)" +
		// Pages read through a memory map skip the page cache, which each
		// connection drops whenever another one has written (every pass of
		// every pipeline): freeing and refilling it was a quarter of the
		// server's CPU with 1,000 active runs (BenchmarkActiveRuns).
		"&_pragma=mmap_size(1073741824)"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		_ = unlock()
		return nil, fmt.Errorf("open sqlite %s: %w", t.Path, err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(0)
	return &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Target: t, unlock: unlock}, nil
}

func openPostgres(t Target, o Options) (*DB, error) {
	cfg, err := pgconnConfig(t.DSN, o.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	sqldb := stdlib.OpenDB(*cfg)
	if o.PoolSize > 0 {
		sqldb.SetMaxOpenConns(o.PoolSize)
		sqldb.SetMaxIdleConns(o.PoolSize)
	}
	return &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Target: t}, nil
}

// Close closes the pool and releases the SQLite guard.
func (d *DB) Close() error {
	err := d.DB.Close()
	if d.unlock != nil {
		err = errors.Join(err, d.unlock())
		d.unlock = nil
	}
	return err
}

// IsPostgres reports whether the database is PostgreSQL (several replicas may share it).
func (d *DB) IsPostgres() bool { return d.Target.Dialect == Postgres }

// pgconnErr reports whether err is a PostgreSQL error with the given SQLSTATE.
func pgconnErr(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
