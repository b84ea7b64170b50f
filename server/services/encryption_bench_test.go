package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/services"
)

// BenchmarkReencrypt measures a full reencrypt pass over 100,000 secrets on
// each dialect. Every iteration swaps the key order, so every value is
// rewrapped each time. Run with -benchtime 3x.
func BenchmarkReencrypt(b *testing.B) {
	const n = 100_000
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			target := dbtest.SQLiteTarget(b)
			if dialect == "postgres" {
				target = dbtest.PostgresTarget(b)
			}
			d := dbtest.OpenMigrated(b, target)
			keyA, keyB := aesKey(b, "keya"), aesKey(b, "keyb")
			rings := []*crypto.Keyring{keyring(b, keyA, keyB), keyring(b, keyB, keyA)}
			seedSecrets(b, d, rings[1], n)
			b.ResetTimer()
			start := time.Now()
			i := 0
			for b.Loop() {
				kr := rings[i%2]
				i++
				env := newEnv(d, kr)
				cursor, rewrapped := "", 0
				for {
					res, err := services.Encryption{Env: env, Keys: kr}.Reencrypt(context.Background(), cursor, 1000)
					require.NoError(b, err)
					rewrapped += res.Rewrapped
					if res.Cursor == nil {
						break
					}
					cursor = *res.Cursor
				}
				require.GreaterOrEqual(b, rewrapped, n)
			}
			b.ReportMetric(float64(n*i)/time.Since(start).Seconds(), "values/s")
		})
	}
}

// seedSecrets inserts n sealed secrets into one project, in bulk.
func seedSecrets(b *testing.B, d *db.DB, kr *crypto.Keyring, n int) {
	ctx := context.Background()
	env := newEnv(d, kr)
	_, err := services.Bootstrap(ctx, env, "admin-token", []string{"main"})
	require.NoError(b, err)
	p, err := db.GetProjectByName(ctx, d, "main")
	require.NoError(b, err)
	now := time.Now().UTC()
	for off := 0; off < n; off += 1000 {
		batch := make([]db.Secret, 0, 1000)
		for j := off; j < off+1000 && j < n; j++ {
			s := db.Secret{ID: uuid.NewString(), ProjectID: p.ID, Name: fmt.Sprintf("S%06d", j), CreatedAt: now, UpdatedAt: now}
			s.Value, err = db.Seal(kr, db.SecretsValue, s.ID, fmt.Sprintf("value-%d", j))
			require.NoError(b, err)
			batch = append(batch, s)
		}
		_, err := d.NewInsert().Model(&batch).Exec(ctx)
		require.NoError(b, err)
	}
}
