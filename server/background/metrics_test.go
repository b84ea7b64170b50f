package background

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/services"
)

// Samples past their retention are pruned: a running job's after
// RunningTTL, a finished job's after FinishedTTL; jobs in between
// (terminating) keep theirs.
func TestJobMetricsPrune(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		u := &db.User{ID: uuid.NewString(), Name: "u", CreatedAt: now, Token: "t", TokenHash: "h", GlobalRole: "admin", Active: true}
		require.NoError(t, db.InsertUser(ctx, d, u))
		p := &db.Project{ID: uuid.NewString(), Name: "p", CreatedAt: now, OwnerID: u.ID, SSHPrivateKey: "k", SSHPublicKey: "k"}
		require.NoError(t, db.InsertProject(ctx, d, p))
		r := &db.Run{ID: uuid.NewString(), ProjectID: p.ID, UserID: u.ID, RunName: "r", SubmittedAt: now,
			LastProcessedAt: now, Status: "running", RunSpec: "{}"}
		jobs := map[string]string{} // status → job id
		var rows []db.Job
		for i, status := range []string{"running", "done", "failed", "terminating"} {
			id := uuid.NewString()
			jobs[status] = id
			rows = append(rows, db.Job{ID: id, ProjectID: p.ID, RunID: r.ID, RunName: "r", JobName: "r-0-0", JobNum: i,
				SubmittedAt: now, LastProcessedAt: now, Status: status, JobSpecData: "{}"})
		}
		require.NoError(t, db.InsertRunWithJobs(ctx, d, r, rows))
		var points []db.JobMetricsPoint
		for _, id := range jobs {
			for _, age := range []time.Duration{time.Minute, 2 * time.Hour, 3 * 24 * time.Hour} {
				points = append(points, db.JobMetricsPoint{ID: uuid.NewString(), JobID: id, TimestampMicro: now.Add(-age).UnixMicro(),
					GpusMemoryUsageBytes: "[]", GpusUtilPercent: "[]"})
			}
		}
		require.NoError(t, db.InsertJobMetricsPoints(ctx, d, points))
		left := func(status string) int {
			ps, err := db.ListJobMetricsPoints(ctx, d, jobs[status], db.MetricsWindow{})
			require.NoError(t, err)
			return len(ps)
		}

		m := &JobMetrics{Env: &services.Env{DB: d}, Log: slog.Default()}
		n, err := m.Prune(ctx, now)
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "defaults: a running job keeps 1 hour, a finished one 7 days")
		require.Equal(t, 1, left("running"))
		require.Equal(t, 3, left("done"))

		m.RunningTTL, m.FinishedTTL = 30*time.Second, 90*time.Minute
		n, err = m.Prune(ctx, now)
		require.NoError(t, err)
		require.Equal(t, int64(5), n)
		require.Equal(t, 0, left("running"))
		require.Equal(t, 1, left("done"))
		require.Equal(t, 1, left("failed"))
		require.Equal(t, 3, left("terminating"), "neither running nor finished")
	})
}
