package dbcopy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbcopy"
	"github.com/dstackgo/dstack/db/dbtest"
)

const benchRuns = 100_000

// seedRuns fills a migrated SQLite database with one user, one project and
// n runs carrying a run spec of the usual size.
func seedRuns(b *testing.B, d *db.DB, n int) {
	ctx := context.Background()
	now := time.Now().UTC()
	uid, pid := uuid.NewString(), uuid.NewString()
	_, err := d.ExecContext(ctx, `INSERT INTO users (id, name, created_at, token, token_hash, global_role) VALUES (?, 'admin', ?, 't', 'h', 'admin')`, uid, now)
	require.NoError(b, err)
	_, err = d.ExecContext(ctx, `INSERT INTO projects (id, name, created_at, owner_id, ssh_private_key, ssh_public_key) VALUES (?, 'main', ?, ?, 'k', 'p')`, pid, now, uid)
	require.NoError(b, err)
	spec := `{"run_name":"r","configuration":{"type":"task","commands":["python train.py --epochs 10"],"resources":{"gpu":"A100:8"}},"profile":{"name":"default"}}`
	for start := 0; start < n; start += 1000 {
		runs := make([]db.Run, 0, 1000)
		for i := start; i < min(start+1000, n); i++ {
			runs = append(runs, db.Run{ID: uuid.NewString(), ProjectID: pid, UserID: uid, RunName: fmt.Sprintf("run-%06d", i),
				SubmittedAt: now, LastProcessedAt: now, Status: "done", RunSpec: spec})
		}
		_, err := d.NewInsert().Model(&runs).Exec(ctx)
		require.NoError(b, err)
	}
}

// BenchmarkMigrate100kRuns copies 100,000 runs from SQLite to PostgreSQL
// and verifies them, as `dstack server migrate-db` does; it reports rows/s.
func BenchmarkMigrate100kRuns(b *testing.B) {
	for range b.N {
		b.StopTimer()
		src := dbtest.OpenMigrated(b, dbtest.SQLiteTarget(b))
		seedRuns(b, src, benchRuns)
		dst := dbtest.Open(b, dbtest.PostgresTarget(b))
		b.StartTimer()
		rep, err := dbcopy.Copy(context.Background(), src, dst, dbcopy.Options{})
		require.NoError(b, err)
		b.ReportMetric(float64(rep.Rows)/rep.Duration.Seconds(), "rows/s")
		b.Logf("copied and verified %d rows in %s (%.0f rows/s)", rep.Rows, rep.Duration.Round(time.Millisecond), float64(rep.Rows)/rep.Duration.Seconds())
	}
}
