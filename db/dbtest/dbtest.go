// Package dbtest opens throwaway databases for tests: always SQLite, and
// PostgreSQL when DSTACK_TEST_POSTGRES_DSN points at a server. Under CI=true
// a missing PostgreSQL fails the test, so a green CI means both ran.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/dstackgo/dstack/db"
)

// PostgresEnv names the variable with the admin DSN of a test PostgreSQL.
const PostgresEnv = "DSTACK_TEST_POSTGRES_DSN"

// Dialects runs fn once per available dialect, each in its own subtest.
func Dialects(t *testing.T, fn func(t *testing.T, target db.Target)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteTarget(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresTarget(t)) })
}

// Each runs fn with a fresh, migrated database of every available dialect.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	Dialects(t, func(t *testing.T, target db.Target) { fn(t, OpenMigrated(t, target)) })
}

// SQLiteTarget is a SQLite file in a fresh temp dir.
func SQLiteTarget(t testing.TB) db.Target {
	return db.Target{Dialect: db.SQLite, Path: filepath.Join(t.TempDir(), "sqlite.db")}
}

// RequirePostgres returns the admin DSN, skipping (or failing under CI=true)
// when none is configured.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run every test on PostgreSQL too (the Makefile's test target starts one)", PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	return dsn
}

// PostgresTarget creates an empty database on the test server, dropped at cleanup.
func PostgresTarget(t testing.TB) db.Target {
	t.Helper()
	admin := RequirePostgres(t)
	name := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = conn.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = conn.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return db.Target{Dialect: db.Postgres, DSN: u.String()}
}

// OpenMigrated opens target, applies the migrations and closes it at cleanup.
func OpenMigrated(t testing.TB, target db.Target) *db.DB {
	t.Helper()
	d := Open(t, target)
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}

// Open opens target without migrating and closes it at cleanup.
func Open(t testing.TB, target db.Target) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), target, db.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", target, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// URL renders target as a DSTACK_DATABASE_URL value.
func URL(target db.Target) string {
	if target.Dialect == db.SQLite {
		return fmt.Sprintf("sqlite:///%s", target.Path)
	}
	return target.DSN
}
