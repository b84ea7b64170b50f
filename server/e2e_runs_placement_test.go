package server_test

import (
	"context"
	"fmt"
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

// TestJobsSubmittedPlacesBatches drives the submitted-jobs pipeline on a
// seeded database: a batch is placed on distinct instances (blocks never
// double-booked, each run bound to the fleet), jobs beyond the free
// instances fail for lack of capacity, and a job that cannot be decoded
// fails alone instead of holding up the others.
func TestJobsSubmittedPlacesBatches(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 6, 4)
		var jobs []db.Job
		require.NoError(t, d.NewSelect().Model(&jobs).Order("run_name").Scan(ctx))
		broken := jobs[0]
		broken.JobSpecData = `{"requirements": "not an object"}`
		require.NoError(t, db.UpdateJob(ctx, d, &broken, "job_spec_data"))

		p := &background.JobsSubmitted{Env: env, Log: env.Log, NetworkMode: 2}
		ids, token, err := db.ClaimRows(ctx, d, p.Claim(), time.Now().UTC())
		require.NoError(t, err)
		require.Len(t, ids, 6)
		require.NoError(t, p.ProcessBatch(ctx, ids, token))

		require.NoError(t, d.NewSelect().Model(&jobs).Order("run_name").Scan(ctx))
		used := map[string]bool{}
		var placed, noCapacity int
		for _, j := range jobs {
			require.Nil(t, j.LockToken, "job %s is still leased", j.JobName)
			switch {
			case j.ID == broken.ID:
				require.Equal(t, string(schemas.JobTerminating), j.Status)
				require.Equal(t, string(schemas.JobTerminatedByServer), *j.TerminationReason)
				require.Contains(t, *j.TerminationReasonMessage, "cannot be scheduled")
			case j.Status == string(schemas.JobProvisioning):
				placed++
				require.NotNil(t, j.InstanceID)
				require.False(t, used[*j.InstanceID], "instance %s double-booked", *j.InstanceID)
				used[*j.InstanceID] = true
				require.NotNil(t, j.JobProvisioningData)
				require.NotNil(t, j.JobRuntimeData)
				r, err := db.GetRun(ctx, d, j.RunID)
				require.NoError(t, err)
				require.Equal(t, j.FleetID, r.FleetID, "the run is bound to the job's fleet")
			default:
				noCapacity++
				require.Equal(t, string(schemas.JobTerminating), j.Status)
				require.Equal(t, string(schemas.JobFailedToStartNoCapacity), *j.TerminationReason)
			}
		}
		require.Equal(t, 4, placed)
		require.Equal(t, 1, noCapacity)
		var ins []db.Instance
		require.NoError(t, d.NewSelect().Model(&ins).Scan(ctx))
		for _, in := range ins {
			require.Equal(t, "busy", in.Status)
			require.Equal(t, 1, in.BusyBlocks)
		}
	})
}

// TestRunsPipelineRespectsJobLeases: a stop does not write a job that
// another pipeline holds (its release would set the job back to running);
// the run stays terminating and the next pass after the release stops it.
func TestRunsPipelineRespectsJobLeases(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 1)
		p := &background.JobsSubmitted{Env: env, Log: env.Log, NetworkMode: 2}
		require.Equal(t, 1, placeAll(t, d, p, 1))
		var j db.Job
		require.NoError(t, d.NewSelect().Model(&j).Limit(1).Scan(ctx))
		j.Status = string(schemas.JobRunning)
		require.NoError(t, db.UpdateJob(ctx, d, &j, "status"))
		r, err := db.GetRun(ctx, d, j.RunID)
		require.NoError(t, err)
		r.Status, r.TerminationReason = string(schemas.RunTerminating), ptrTo(string(schemas.RunStoppedByUser))
		require.NoError(t, db.UpdateRun(ctx, d, r, "status", "termination_reason"))

		// The running-jobs pipeline holds the job.
		held := db.Claim{Table: "jobs", Where: "status = 'running'", Owner: "jobs_running@test", Limit: 1, TTL: time.Minute}
		ids, jobToken, err := db.ClaimRows(ctx, d, held, time.Now().UTC())
		require.NoError(t, err)
		require.Equal(t, []string{j.ID}, ids)

		runs := &background.Runs{Env: env, Log: env.Log}
		process := func() {
			t.Helper()
			c := runs.Claim()
			c.ProcessedBefore, c.MinInterval, c.Owner = time.Time{}, 0, "runs@test"
			ids, token, err := db.ClaimRows(ctx, d, c, time.Now().UTC())
			require.NoError(t, err)
			require.Equal(t, []string{r.ID}, ids)
			require.NoError(t, runs.Process(ctx, r.ID, token))
		}
		process()
		got, err := db.GetJob(ctx, d, j.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.JobRunning), got.Status, "a held job is left to its holder")
		// The holder writes its pass and lets go.
		ok, err := db.UpdateLeased(ctx, d, got, jobToken, time.Now().UTC(), "status")
		require.NoError(t, err)
		require.True(t, ok)

		process()
		got, err = db.GetJob(ctx, d, j.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.JobTerminating), got.Status)
		require.Equal(t, string(schemas.JobTerminatedByUser), *got.TerminationReason)
		r, err = db.GetRun(ctx, d, r.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.RunTerminating), r.Status, "until the job has finished")
	})
}

// TestStopWaitsForTheRunsPipeline: a stop that arrives while the run
// pipeline holds the run is not lost when the pipeline writes the run back.
func TestStopWaitsForTheRunsPipeline(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		d := dbtest.OpenMigrated(t, target)
		ctx := context.Background()
		env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		seedPlacement(t, d, 1, 1)
		var r db.Run
		require.NoError(t, d.NewSelect().Model(&r).Limit(1).Scan(ctx))
		var project db.Project
		require.NoError(t, d.NewSelect().Model(&project).Where("id = ?", r.ProjectID).Scan(ctx))

		c := (&background.Runs{Env: env, Log: env.Log}).Claim()
		c.ProcessedBefore, c.MinInterval, c.Owner = time.Time{}, 0, "runs@test"
		ids, token, err := db.ClaimRows(ctx, d, c, time.Now().UTC())
		require.NoError(t, err)
		require.Equal(t, []string{r.ID}, ids)

		stopped := make(chan error, 1)
		go func() {
			stopped <- (services.Runs{Env: env}).Stop(ctx, services.System, &project, []string{r.RunName}, false)
		}()
		time.Sleep(200 * time.Millisecond)
		select {
		case err := <-stopped:
			require.FailNow(t, fmt.Sprintf("the stop wrote under the pipeline's lease (err %v)", err))
		default:
		}
		// The pipeline writes its pass (the run still submitted) and lets go.
		ok, err := db.UpdateLeased(ctx, d, &r, token, time.Now().UTC(), "status", "termination_reason")
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, <-stopped)
		got, err := db.GetRun(ctx, d, r.ID)
		require.NoError(t, err)
		require.Equal(t, string(schemas.RunTerminating), got.Status)
		require.Equal(t, string(schemas.RunStoppedByUser), *got.TerminationReason)
	})
}
