package background

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// JobsTerminating ends jobs as sched.DecideJobTermination plans: it stops the
// runner (gracefully unless the user aborted), collects the last logs, has the
// shim stop and remove the container, gives the instance's blocks back and
// sets the final status from the termination reason. See README.md.
type JobsTerminating struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger
}

// Name implements Pipeline.
func (p *JobsTerminating) Name() string { return services.PipelineTerminate }

// Claim implements Pipeline.
func (p *JobsTerminating) Claim() db.Claim {
	return db.Claim{Table: "jobs", Where: "status = 'terminating'", Limit: 64, TTL: leaseTTL}
}

// Process implements Pipeline.
func (p *JobsTerminating) Process(ctx context.Context, id, token string) error {
	j, err := db.GetJob(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	t := p.load(j)
	plan := sched.DecideJobTermination(t)
	if plan.StopOnHost {
		p.stopOnAgent(ctx, j, t.Runtime, plan)
	}
	now := time.Now().UTC()
	if err := services.SetJobStatus(j, plan.Status); err != nil {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return err
	}
	j.TerminationReason = ptr(string(plan.Reason))
	j.FinishedAt = &now
	instance := j.InstanceID
	j.InstanceID = nil
	err = p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if instance != nil && plan.ReleaseBlocks > 0 {
			if err := db.ReleaseBlocks(ctx, tx, *instance, plan.ReleaseBlocks); err != nil {
				return err
			}
		}
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
	p.Log.Info("job finished", "job", j.JobName, "status", j.Status, "reason", plan.Reason)
	p.Env.WakeUp(services.PipelineRuns, services.PipelineJobs)
	return nil
}

// load is the job as sched plans its end. Stored data that cannot be read
// is logged and left out: the job ends all the same (a job on an instance
// whose runtime data is unreadable is not stopped there and gives no
// blocks back, which the log says).
func (p *JobsTerminating) load(j *db.Job) sched.TerminatingJob {
	t := sched.TerminatingJob{Reason: schemas.JobTerminationReason(deref(j.TerminationReason)), OnInstance: j.InstanceID != nil}
	var spec struct {
		StopDuration *int `json:"stop_duration"`
	}
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
		p.Log.Error("the job's stored spec cannot be read; it gets the default stop timeout", "job", j.JobName, "err", err)
	}
	t.StopDuration = spec.StopDuration
	if j.JobRuntimeData != nil {
		jrd := new(schemas.JobRuntimeData)
		if err := json.Unmarshal([]byte(*j.JobRuntimeData), jrd); err != nil {
			p.Log.Error("the job's stored runtime data cannot be read; it is not stopped on its host and its blocks are not given back",
				"job", j.JobName, "instance", deref(j.InstanceID), "err", err)
		} else {
			t.Runtime = jrd
		}
	}
	return t
}

// stopOnAgent stops the job on its host, best effort: an unreachable host
// does not keep the job from finishing.
func (p *JobsTerminating) stopOnAgent(ctx context.Context, j *db.Job, jrd *schemas.JobRuntimeData, plan sched.JobTerminationPlan) {
	log := p.Log.With("job", j.JobName)
	ja, err := (agents{env: p.Env, pool: p.Pool}).forJob(ctx, j)
	if err != nil {
		log.Warn("cannot reach the job's host to stop it", "err", err)
		return
	}
	rc := ja.runner(jrd)
	if plan.StopRunner {
		if err := rc.Stop(ctx); err == nil {
			p.waitStopped(ctx, ja, j, jrd)
		}
	}
	if plan.PullLast { // the last logs and the exit status; the reason stays ours
		last, err := pullRunner(ctx, p.Env, rc, j)
		if err != nil {
			log.Debug("final pull", "err", err)
		}
		if last != nil && last.ExitStatus != nil {
			j.ExitStatus = last.ExitStatus
		}
	}
	req := agent.TaskTerminateRequest{TerminationReason: string(plan.Reason), TerminationMessage: deref(j.TerminationReasonMessage),
		Timeout: uint(plan.Timeout)}
	if err := ja.shim.TerminateTask(ctx, j.ID, req); err != nil {
		log.Debug("terminate task", "err", err)
	}
	if err := ja.shim.RemoveTask(ctx, j.ID); err != nil {
		log.Debug("remove task", "err", err)
	}
}

// waitStopped gives a gracefully stopped job a few seconds to exit.
func (p *JobsTerminating) waitStopped(ctx context.Context, ja *jobAgent, j *db.Job, jrd *schemas.JobRuntimeData) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		task, err := ja.shim.GetTask(ctx, j.ID)
		if err != nil || task.Status == agent.TaskStatusTerminated {
			return
		}
		if res, err := ja.runner(jrd).Pull(ctx, deref64(j.RunnerTimestamp)); err != nil || len(res.JobStates) > 0 && isFinal(res.JobStates[len(res.JobStates)-1].State) {
			return
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			return
		}
	}
}
