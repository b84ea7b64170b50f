package db_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

func TestMigrationsSameNamesInEveryDialect(t *testing.T) {
	sq, err := db.Migrations(db.SQLite)
	require.NoError(t, err)
	pg, err := db.Migrations(db.Postgres)
	require.NoError(t, err)
	require.NotEmpty(t, sq)
	require.Equal(t, names(sq), names(pg))
}

func TestMigrateFreshAndIdempotent(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		ctx := context.Background()
		d := dbtest.Open(t, target)
		all, err := db.Migrations(target.Dialect)
		require.NoError(t, err)
		applied, err := d.Migrate(ctx)
		require.NoError(t, err)
		require.Equal(t, names(all), applied)
		again, err := d.Migrate(ctx)
		require.NoError(t, err)
		require.Empty(t, again)
	})
}

func TestMigrateConcurrentStarts(t *testing.T) {
	target := dbtest.PostgresTarget(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	total := make(chan int, 4)
	for range 4 {
		go func() {
			d, err := db.Open(ctx, target, db.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer d.Close()
			applied, err := d.Migrate(ctx)
			total <- len(applied)
			errs <- err
		}()
	}
	sum := 0
	for range 4 {
		require.NoError(t, <-errs)
	}
	for range 4 {
		sum += <-total
	}
	all, err := db.Migrations(db.Postgres)
	require.NoError(t, err)
	require.Equal(t, len(all), sum, "each migration must be applied by exactly one replica")
}

func TestMigrateUpgradesOldSchemaKeepingRows(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		ctx := context.Background()
		d := dbtest.Open(t, target)
		dump, err := os.ReadFile(filepath.Join("..", "testdata", "db", "v0001."+string(target.Dialect)+".sql"))
		require.NoError(t, err)
		for _, stmt := range strings.Split(string(dump), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			_, err := d.ExecContext(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		applied, err := d.Migrate(ctx)
		require.NoError(t, err)
		require.NotContains(t, applied, "0001_init")
		require.Contains(t, applied, "0002_user_public_keys")

		u, err := db.GetUserByName(ctx, d, "ALICE")
		require.NoError(t, err)
		require.Equal(t, "0b7d3c29-5f2a-4d8e-8b1c-7e6f5a4b3c21", u.ID)
		require.Equal(t, "alice@example.com", *u.Email)
		p, err := db.GetProjectByName(ctx, d, "main")
		require.NoError(t, err)
		require.Equal(t, "admin", p.Owner.Name)
		ms, err := db.ListMembers(ctx, d, p.ID)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		s, err := db.GetSecret(ctx, d, p.ID, "HF_TOKEN")
		require.NoError(t, err)
		require.Equal(t, "enc:identity:noname:hf_abc", s.Value)
		keys, err := db.ListPublicKeys(ctx, d, u.ID)
		require.NoError(t, err)
		require.Empty(t, keys)
	})
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func names(ms []db.Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}
