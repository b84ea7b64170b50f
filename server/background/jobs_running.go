package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	agentclient "github.com/dstackgo/dstack/backends/agent/client"
	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// JobsRunning drives placed jobs through their agents (provisioning →
// pulling → running) and watches them run: each pass takes a job as far as
// its shim and runner let it (advance), pulls a running job's states and
// logs into the log store, and sched.DecideRunningJob turns what the agents
// reported into the job's next statuses. See README.md.
type JobsRunning struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger
	// UnreachableAfter is how long a job's host may not answer before the
	// job fails with instance_unreachable (2 minutes when zero).
	UnreachableAfter time.Duration
	// NetworkMode is DSTACK_SERVER_JOB_NETWORK_MODE (1, 2 or 3), for jobs
	// that get their instance's runtime data once it is launched.
	NetworkMode int
}

// Name implements Pipeline.
func (p *JobsRunning) Name() string { return services.PipelineRunning }

// Claim implements Pipeline.
func (p *JobsRunning) Claim() db.Claim {
	// A job just placed (provisioning, no failed pass yet: a failed pass
	// sets disconnected_at, a good one moves it on) is taken at once.
	return db.Claim{Table: "jobs", Where: "status IN ('provisioning', 'pulling', 'running')", Limit: 64,
		TTL: leaseTTL, MinInterval: time.Second,
		Eager: "status = 'provisioning' AND disconnected_at IS NULL"}
}

// jobColumns are what a pass may change.
var jobColumns = []string{"status", "termination_reason", "termination_reason_message", "exit_status",
	"job_runtime_data", "runner_timestamp", "disconnected_at", "started_at"}

// Process implements Pipeline.
func (p *JobsRunning) Process(ctx context.Context, id, token string) error {
	j, err := db.GetJob(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	if j.JobProvisioningData == nil && j.InstanceID != nil {
		if ready, err := p.awaitInstance(ctx, j, token); !ready || err != nil {
			return err
		}
	}
	rep, err := p.advance(ctx, j)
	if err != nil { // the job's context could not be loaded: the next pass tries again
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, time.Now().UTC())
		return err
	}
	switch {
	case rep.Broken != "":
		p.Log.Error("job stopped: it cannot be started", "job", j.JobName, "err", rep.Broken)
	case rep.Unreachable != "":
		p.Log.Warn("job step failed", "job", j.JobName, "status", j.Status, "err", rep.Unreachable)
	}
	now := time.Now().UTC()
	job := sched.RunningJob{Status: schemas.JobStatus(j.Status), DisconnectedAt: j.DisconnectedAt, UnreachableAfter: p.unreachableAfter()}
	dec := sched.DecideRunningJob(job, rep, now)
	if err := services.SetJobStatus(j, dec.Path...); err != nil {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return err
	}
	if dec.TerminationReason != "" {
		j.TerminationReason = ptr(string(dec.TerminationReason))
		if dec.Message != "" {
			j.TerminationReasonMessage = ptr(dec.Message)
		}
	}
	if dec.ExitStatus != nil {
		j.ExitStatus = dec.ExitStatus
	}
	j.DisconnectedAt = dec.DisconnectedAt
	_, err = db.UpdateLeased(ctx, p.Env.DB, j, token, now, jobColumns...)
	switch schemas.JobStatus(j.Status) {
	case schemas.JobTerminating:
		p.Env.WakeUp(services.PipelineTerminate)
	case schemas.JobRunning:
		if err == nil && rep.Reached == schemas.JobRunning {
			p.addProbes(ctx, j, now)
		}
		p.Env.WakeUp(services.PipelineRuns)
	}
	return err
}

// addProbes starts probing a job that has just started running, when its
// spec has probes (services).
func (p *JobsRunning) addProbes(ctx context.Context, j *db.Job, now time.Time) {
	var spec struct {
		Probes []json.RawMessage `json:"probes"`
	}
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil || len(spec.Probes) == 0 {
		return // an unreadable spec stops the job on its next pass
	}
	if err := db.EnsureJobProbes(ctx, p.Env.DB, j.ID, len(spec.Probes), now); err != nil {
		p.Log.Error("start probing", "job", j.JobName, "err", err)
		return
	}
	p.Env.WakeUp(services.PipelineProbes)
}

func (p *JobsRunning) unreachableAfter() time.Duration {
	if p.UnreachableAfter == 0 {
		return 2 * time.Minute
	}
	return p.UnreachableAfter
}

// pullTimeout bounds one pull of a runner's state and logs: a runner that
// hangs mid-answer counts as away for the pass instead of holding the job's
// worker for the item timeout (2 minutes).
const pullTimeout = 30 * time.Second

// jobFault says why a job cannot be started from what is stored (its data
// cannot be read, a secret it refers to is gone): the job stops with it
// instead of being retried as if its host were away.
type jobFault struct{ err error }

func (e jobFault) Error() string { return e.err.Error() }
func (e jobFault) Unwrap() error { return e.err }

// errNodesPending keeps a node of a multi-node replica waiting until the
// replica's other nodes are placed.
var errNodesPending = errors.New("waiting for the other nodes of the replica to be placed")

// advance takes the job as far as its agents let it in this pass and
// reports what they said. It changes the job's runtime data, runner
// timestamp and stored logs, never its status. An error means the job's
// context could not be loaded from the database.
func (p *JobsRunning) advance(ctx context.Context, j *db.Job) (sched.AgentReport, error) {
	var rep sched.AgentReport
	run, err := db.GetRun(ctx, p.Env.DB, j.RunID)
	if err != nil {
		return rep, err
	}
	var rs schemas.RunSpec
	if err := json.Unmarshal([]byte(run.RunSpec), &rs); err != nil {
		rep.Broken = fmt.Sprintf("the stored spec of run %s cannot be read: %v", run.RunName, err)
		return rep, nil
	}
	d, err := decodeJob(j)
	if err != nil {
		rep.Broken = err.Error()
		return rep, nil
	}
	if d.jpd == nil || d.jrd == nil {
		rep.Broken = "the job has no instance data"
		return rep, nil
	}
	status := schemas.JobStatus(j.Status)
	if status == schemas.JobRunning && !p.pullDue(j) {
		return rep, nil // what the runner says is not asked for yet
	}
	ja, err := (agents{env: p.Env, pool: p.Pool}).forJob(ctx, j)
	if err != nil {
		return fault(rep, err), nil
	}
	if status == schemas.JobProvisioning {
		if err := p.provision(ctx, ja, j, d, &rs); err != nil {
			return fault(rep, err), nil
		}
		rep.Reached, status = schemas.JobPulling, schemas.JobPulling
	}
	if status == schemas.JobPulling {
		task, err := p.waitTask(ctx, ja, j.ID)
		if err != nil {
			return fault(rep, err), nil
		}
		rep.Task = task
		if task.Status != agent.TaskStatusRunning {
			return rep, nil
		}
		if err := p.startRunner(ctx, ja, j, d, run, &rs, task); err != nil {
			return fault(rep, err), nil
		}
		rep.Reached, status = schemas.JobRunning, schemas.JobRunning
		j.StartedAt = ptr(time.Now().UTC())
	}
	if status == schemas.JobRunning && p.pullDue(j) {
		pctx, cancel := context.WithTimeout(ctx, pullTimeout)
		last, err := pullRunner(pctx, p.Env, ja.runner(d.jrd), j)
		cancel()
		rep.Runner = last
		if err != nil && pctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("the runner of %s on %s did not answer its pull within %s (agent hung?): %w",
				j.JobName, ja.conn.Target().Addr(), pullTimeout, err)
		}
		if err != nil && last == nil {
			// The runner exits once its final state has been pulled: a
			// replica killed between that pull and its write leaves a
			// runner that no longer answers. The shim knows how it ended.
			if task, terr := ja.shim.GetTask(ctx, j.ID); terr == nil && task.Status == agent.TaskStatusTerminated {
				rep.Task = task
				return rep, nil
			}
		}
		if err != nil {
			return fault(rep, err), nil
		}
	}
	return rep, nil
}

// pullDue reports whether a running job's runner is pulled in this pass
// (see sched.RunnerPullDue).
func (p *JobsRunning) pullDue(j *db.Job) bool {
	pull := sched.RunnerPull{SubmittedAt: j.SubmittedAt, StartedAt: j.StartedAt, Pulled: j.RunnerTimestamp != nil,
		LogsWanted: j.LogsWantedAt != nil}
	return sched.RunnerPullDue(pull, time.Now().UTC())
}

// fault records err in the report: a job fault stops the job, a replica
// still being placed waits, anything else is the host not answering.
func fault(rep sched.AgentReport, err error) sched.AgentReport {
	var jf jobFault
	switch {
	case errors.As(err, &jf):
		rep.Broken = err.Error()
	case errors.Is(err, errNodesPending):
	default:
		rep.Unreachable = err.Error()
	}
	return rep
}

// pullRunner collects the runner's states and logs since the job's runner
// timestamp: the logs go to the log store and the timestamp moves on. It
// returns the last state reported (nil when none), carrying the last exit
// status reported, and stops at a final state.
func pullRunner(ctx context.Context, env *services.Env, rc *agentclient.RunnerClient, j *db.Job) (*agent.JobStateEvent, error) {
	project, err := db.GetProjectByID(ctx, env.DB, j.ProjectID)
	if err != nil {
		return nil, err
	}
	var last *agent.JobStateEvent
	var exit *int
	withExit := func() *agent.JobStateEvent {
		if last != nil {
			last.ExitStatus = exit
		}
		return last
	}
	for range 8 { // drain quickly when the runner has a backlog
		res, err := rc.Pull(ctx, deref64(j.RunnerTimestamp))
		if err != nil {
			return withExit(), err
		}
		if err := storeLogs(ctx, env, project.Name, j, res); err != nil {
			return withExit(), err
		}
		j.RunnerTimestamp = &res.LastUpdated
		if n := len(res.JobStates); n > 0 {
			s := res.JobStates[n-1]
			last = &s
			if s.ExitStatus != nil {
				exit = s.ExitStatus
			}
		}
		if !res.HasMore || (last != nil && isFinal(last.State)) {
			break
		}
	}
	// max_duration is the runner's to enforce, as upstream: it counts from
	// the job's start and reports terminated / max_duration_exceeded. The
	// server cannot tell when the job started (submitted_at also counts the
	// queue, the placement and the image pull), so it does not cut it short.
	return withExit(), nil
}

func storeLogs(ctx context.Context, env *services.Env, project string, j *db.Job, res *agent.PullResponse) error {
	key := logstore.Key{Project: project, Run: j.RunName, JobSubmissionID: j.ID}
	if err := env.Logs.Write(ctx, key, events(res.JobLogs)); err != nil {
		return err
	}
	key.Diagnose = true
	return env.Logs.Write(ctx, key, events(res.RunnerLogs))
}

func events(ls []agent.LogEvent) []logstore.Event {
	out := make([]logstore.Event, len(ls))
	for i, l := range ls {
		out[i] = logstore.Event{Timestamp: time.UnixMilli(l.Timestamp).UTC(), Message: l.Message}
	}
	return out
}

func isFinal(s agent.JobState) bool {
	return s == agent.JobStateDone || s == agent.JobStateFailed || s == agent.JobStateTerminated
}
