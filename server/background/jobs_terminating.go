package background

import (
	"context"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// JobsTerminating ends jobs: it stops the runner (gracefully unless the
// user aborted), collects the last logs, has the shim stop and remove the
// container, gives the instance's blocks back and sets the final status
// from the termination reason.
type JobsTerminating struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger
	// Running is used to pull the last states and logs.
	Running *JobsRunning
}

// Name implements Pipeline.
func (p *JobsTerminating) Name() string { return services.PipelineTerminate }

// Claim implements Pipeline.
func (p *JobsTerminating) Claim() db.Claim {
	return db.Claim{Table: "jobs", Where: "status = 'terminating'", Limit: 64, TTL: 2 * time.Minute}
}

// Process implements Pipeline.
func (p *JobsTerminating) Process(ctx context.Context, id, token string) error {
	j, err := db.GetJob(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	d, err := decodeJob(j)
	if err != nil {
		return err
	}
	reason := schemas.JobTerminationReason(deref(j.TerminationReason))
	if reason == "" {
		reason = schemas.JobTerminatedByServer
		j.TerminationReason = ptr(string(reason))
	}
	if j.InstanceID != nil && d.jrd != nil {
		p.stopOnAgent(ctx, j, d, reason)
	}
	now := time.Now().UTC()
	j.Status = string(reason.Status())
	j.FinishedAt = &now
	err = p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if j.InstanceID != nil && d.jrd != nil && d.jrd.Offer != nil {
			if err := db.ReleaseBlocks(ctx, tx, *j.InstanceID, max(d.jrd.Offer.Blocks, 1)); err != nil {
				return err
			}
		}
		j.InstanceID = nil
		ok, err := db.UpdateLeased(ctx, tx, j, token, now, "status", "finished_at", "termination_reason", "instance_id",
			"exit_status", "runner_timestamp")
		if err != nil || !ok {
			return errLeaseLost(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Log.Info("job finished", "job", j.JobName, "status", j.Status, "reason", reason)
	p.Env.WakeUp(services.PipelineRuns, services.PipelineJobs)
	return nil
}

// stopOnAgent stops the job on its host, best effort: an unreachable host
// does not keep the job from finishing.
func (p *JobsTerminating) stopOnAgent(ctx context.Context, j *db.Job, d *jobData, reason schemas.JobTerminationReason) {
	log := p.Log.With("job", j.JobName)
	ja, err := (agents{env: p.Env, pool: p.Pool}).forJob(ctx, j)
	if err != nil {
		log.Warn("cannot reach the job's host to stop it", "err", err)
		return
	}
	graceful := reason != schemas.JobAbortedByUser && reason != schemas.JobDoneByRunner
	if d.jrd.Ports != nil || d.jrd.NetworkMode == "host" {
		rc := ja.runner(d.jrd)
		if graceful {
			if err := rc.Stop(ctx); err == nil {
				p.waitStopped(ctx, ja, j, d)
			}
		}
		if p.Running != nil { // the last logs and the exit status; the reason stays ours
			savedReason, savedMsg := j.TerminationReason, j.TerminationReasonMessage
			j.Status = string(schemas.JobRunning)
			if err := p.Running.pull(ctx, ja, j, d, nil); err != nil {
				log.Debug("final pull", "err", err)
			}
			j.Status, j.TerminationReason, j.TerminationReasonMessage = string(schemas.JobTerminating), savedReason, savedMsg
		}
	}
	timeout := 10
	if d.spec.StopDuration != nil && graceful {
		timeout = min(*d.spec.StopDuration, 300)
	}
	if !graceful {
		timeout = 0
	}
	req := agent.TaskTerminateRequest{TerminationReason: string(reason), TerminationMessage: deref(j.TerminationReasonMessage), Timeout: uint(timeout)}
	if err := ja.shim.TerminateTask(ctx, j.ID, req); err != nil {
		log.Debug("terminate task", "err", err)
	}
	if err := ja.shim.RemoveTask(ctx, j.ID); err != nil {
		log.Debug("remove task", "err", err)
	}
}

// waitStopped gives a gracefully stopped job a few seconds to exit.
func (p *JobsTerminating) waitStopped(ctx context.Context, ja *jobAgent, j *db.Job, d *jobData) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		task, err := ja.shim.GetTask(ctx, j.ID)
		if err != nil || task.Status == agent.TaskStatusTerminated {
			return
		}
		if res, err := ja.runner(d.jrd).Pull(ctx, deref64(j.RunnerTimestamp)); err != nil || len(res.JobStates) > 0 && isFinal(res.JobStates[len(res.JobStates)-1].State) {
			return
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			return
		}
	}
}

func isFinal(s agent.JobState) bool {
	return s == agent.JobStateDone || s == agent.JobStateFailed || s == agent.JobStateTerminated
}

func deref64(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}
