package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// seedMetricsRun stores a run "r" with job 0 in two submissions (the
// first done, the second running) and returns the jobs.
func seedMetricsRun(t *testing.T, d *db.DB) (p *db.Project, done, running db.Job) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	u := &db.User{ID: uuid.NewString(), Name: "u", CreatedAt: now, Token: "t", TokenHash: "h", GlobalRole: "admin", Active: true}
	require.NoError(t, db.InsertUser(ctx, d, u))
	p = &db.Project{ID: uuid.NewString(), Name: "p", CreatedAt: now, OwnerID: u.ID, SSHPrivateKey: "k", SSHPublicKey: "k"}
	require.NoError(t, db.InsertProject(ctx, d, p))
	r := &db.Run{ID: uuid.NewString(), ProjectID: p.ID, UserID: u.ID, RunName: "r", SubmittedAt: now,
		LastProcessedAt: now, Status: "running", RunSpec: "{}"}
	job := func(sub int, status string) db.Job {
		return db.Job{ID: uuid.NewString(), ProjectID: p.ID, RunID: r.ID, RunName: "r", JobName: "r-0-0", SubmissionNum: sub,
			SubmittedAt: now, LastProcessedAt: now, Status: status, JobSpecData: "{}"}
	}
	done, running = job(0, "done"), job(1, "running")
	require.NoError(t, db.InsertRunWithJobs(ctx, d, r, []db.Job{done, running}))
	return p, done, running
}

func TestJobMetricsPoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p, done, running := seedMetricsRun(t, d)
		point := func(job string, ts int64) db.JobMetricsPoint {
			return db.JobMetricsPoint{ID: uuid.NewString(), JobID: job, TimestampMicro: ts, CPUUsageMicro: ts * 2,
				MemoryUsageBytes: 1 << 40, MemoryWorkingSetBytes: 1 << 30, GpusMemoryUsageBytes: "[]", GpusUtilPercent: "[]"}
		}
		var ps []db.JobMetricsPoint
		for ts := int64(10); ts <= 50; ts += 10 {
			ps = append(ps, point(running.ID, ts), point(done.ID, ts))
		}
		require.NoError(t, db.InsertJobMetricsPoints(ctx, d, ps))
		require.NoError(t, db.InsertJobMetricsPoints(ctx, d, nil))

		stamps := func(w db.MetricsWindow) []int64 {
			got, err := db.ListJobMetricsPoints(ctx, d, running.ID, w)
			require.NoError(t, err)
			var out []int64
			for _, g := range got {
				require.Equal(t, int64(1<<40), g.MemoryUsageBytes, "64-bit values")
				out = append(out, g.TimestampMicro)
			}
			return out
		}
		require.Equal(t, []int64{50, 40, 30, 20, 10}, stamps(db.MetricsWindow{}), "newest first")
		require.Equal(t, []int64{50, 40}, stamps(db.MetricsWindow{Limit: 2}))
		require.Equal(t, []int64{40, 30, 20}, stamps(db.MetricsWindow{After: 20, Before: 50}), "after is inclusive, before is not")

		recent, err := db.JobsWithMetricsSince(ctx, d, []string{running.ID, done.ID, uuid.NewString()}, 40)
		require.NoError(t, err)
		require.Equal(t, map[string]bool{running.ID: true, done.ID: true}, recent)
		recent, err = db.JobsWithMetricsSince(ctx, d, []string{running.ID}, 50)
		require.NoError(t, err)
		require.Empty(t, recent)

		j, err := db.GetRunJob(ctx, d, p.ID, "r", "", 0, 0)
		require.NoError(t, err)
		require.Equal(t, running.ID, j.ID, "the latest submission")
		j, err = db.GetRunJob(ctx, d, p.ID, "r", running.RunID, 0, 0)
		require.NoError(t, err)
		require.Equal(t, running.ID, j.ID)
		for _, miss := range []struct {
			run, id      string
			replica, job int
		}{{"nope", "", 0, 0}, {"r", "", 0, 1}, {"r", "", 1, 0}, {"r", uuid.NewString(), 0, 0}} {
			_, err = db.GetRunJob(ctx, d, p.ID, miss.run, miss.id, miss.replica, miss.job)
			require.ErrorIs(t, err, db.ErrNotFound, "%+v", miss)
		}

		running2, err := db.ListRunningJobs(ctx, d, 10)
		require.NoError(t, err)
		require.Len(t, running2, 1)
		require.Equal(t, running.ID, running2[0].ID)

		n, err := db.DeleteJobMetricsPoints(ctx, d, []string{"running"}, 30)
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "the running job's points before 30")
		require.Equal(t, []int64{50, 40, 30}, stamps(db.MetricsWindow{}))
		n, err = db.DeleteJobMetricsPoints(ctx, d, []string{"done", "failed"}, 1000)
		require.NoError(t, err)
		require.Equal(t, int64(5), n, "every point of the finished job")
	})
}
