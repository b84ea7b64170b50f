package server_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/background"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// passOver claims the row id for p (ignoring its minimum interval) and
// processes it once.
func passOver(t *testing.T, d *db.DB, p background.Pipeline, id string) {
	t.Helper()
	ctx := context.Background()
	c := p.Claim()
	c.ProcessedBefore, c.MinInterval, c.Owner, c.Where = time.Time{}, 0, p.Name()+"@test", c.Where+" AND id = '"+id+"'"
	ids, token, err := db.ClaimRows(ctx, d, c, time.Now().UTC())
	require.NoError(t, err)
	require.Equal(t, []string{id}, ids)
	require.NoError(t, p.Process(ctx, id, token))
}

// TestStoppedRunEndsUnplacedJobsThroughTerminating: a stopped run's job
// that never got an instance goes submitted → terminating → terminated,
// the final status set by the terminating-jobs pipeline like any other.
func TestStoppedRunEndsUnplacedJobsThroughTerminating(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 1)
		var r db.Run
		require.NoError(t, d.NewSelect().Model(&r).Limit(1).Scan(ctx))
		var project db.Project
		require.NoError(t, d.NewSelect().Model(&project).Where("id = ?", r.ProjectID).Scan(ctx))
		require.NoError(t, (services.Runs{Env: env}).Stop(ctx, services.System, &project, []string{r.RunName}, false))

		runs := &background.Runs{Env: env, Log: env.Log}
		passOver(t, d, runs, r.ID)
		jobs, err := db.ListRunJobs(ctx, d, r.ID)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		j := jobs[0]
		require.Equal(t, string(schemas.JobTerminating), j.Status)
		require.Equal(t, string(schemas.JobTerminatedByUser), *j.TerminationReason)

		passOver(t, d, &background.JobsTerminating{Env: env, Log: env.Log}, j.ID)
		got, err := db.GetJob(ctx, d, j.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.JobTerminated), got.Status)
		require.NotNil(t, got.FinishedAt)

		passOver(t, d, runs, r.ID)
		got2, err := db.GetRun(ctx, d, r.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.RunTerminated), got2.Status)
		require.Equal(t, string(schemas.RunStoppedByUser), *got2.TerminationReason)
	})
}

// TestRunWithUnreadableJobSpecStops: a run one of whose job specs cannot be
// read is not decided on empty data: it stops with server_error, and its job
// tells why.
func TestRunWithUnreadableJobSpecStops(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 1)
		var j db.Job
		require.NoError(t, d.NewSelect().Model(&j).Limit(1).Scan(ctx))
		j.JobSpecData = `{"retry": "not a policy"}`
		require.NoError(t, db.UpdateJob(ctx, d, &j, "job_spec_data"))

		runs := &background.Runs{Env: env, Log: env.Log}
		passOver(t, d, runs, j.RunID)
		r, err := db.GetRun(ctx, d, j.RunID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.RunTerminating), r.Status)
		require.Equal(t, string(schemas.RunServerError), *r.TerminationReason)
		got, err := db.GetJob(ctx, d, j.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.JobTerminating), got.Status)
		require.Equal(t, string(schemas.JobTerminatedByServer), *got.TerminationReason)
		require.Contains(t, *got.TerminationReasonMessage, "cannot be read")

		passOver(t, d, &background.JobsTerminating{Env: env, Log: env.Log}, j.ID)
		passOver(t, d, runs, j.RunID)
		r, err = db.GetRun(ctx, d, j.RunID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.RunFailed), r.Status)
	})
}

// TestUnreadableInstanceIsLeftOutOfPlacement: an instance whose stored
// offer cannot be read is no candidate; the job goes to the other one.
func TestUnreadableInstanceIsLeftOutOfPlacement(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 2)
		var ins []db.Instance
		require.NoError(t, d.NewSelect().Model(&ins).Order("instance_num").Scan(ctx))
		ins[0].Offer = ptrTo(`{"instance": "not an object"}`)
		require.NoError(t, db.UpdateInstance(ctx, d, &ins[0], "offer"))

		cands, err := services.Candidates(ctx, env, ins[0].ProjectID)
		require.NoError(t, err)
		require.Len(t, cands, 1)
		require.Equal(t, ins[1].ID, cands[0].InstanceID)

		p := &background.JobsSubmitted{Env: env, Log: env.Log, NetworkMode: 2}
		require.Equal(t, 1, placeAll(t, d, p, 1))
		var j db.Job
		require.NoError(t, d.NewSelect().Model(&j).Limit(1).Scan(ctx))
		require.Equal(t, ins[1].ID, *j.InstanceID)
	})
}

// TestPlacedJobWithUnreadableDataStops: a placed job whose stored runtime
// data cannot be read stops at once with the reason, without its host being
// taken for unreachable.
func TestPlacedJobWithUnreadableDataStops(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 1)
		require.Equal(t, 1, placeAll(t, d, &background.JobsSubmitted{Env: env, Log: env.Log, NetworkMode: 2}, 1))
		var j db.Job
		require.NoError(t, d.NewSelect().Model(&j).Limit(1).Scan(ctx))
		j.JobRuntimeData = ptrTo(`{"offer": "not an offer"}`)
		require.NoError(t, db.UpdateJob(ctx, d, &j, "job_runtime_data"))

		passOver(t, d, &background.JobsRunning{Env: env, Log: env.Log}, j.ID)
		got, err := db.GetJob(ctx, d, j.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.JobTerminating), got.Status)
		require.Equal(t, string(schemas.JobTerminatedByServer), *got.TerminationReason)
		require.Contains(t, *got.TerminationReasonMessage, "runtime data of job")
		require.Nil(t, got.DisconnectedAt)
	})
}
