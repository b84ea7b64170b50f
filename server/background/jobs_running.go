package background

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// JobsRunning drives placed jobs through their agents:
//
//	provisioning ──shim accepted the task──▶ pulling ──runner started the job──▶ running
//	running ──runner reports done/failed, max_duration, host lost 2 min──▶ terminating
//
// While a job runs, each pass pulls its states and logs from the runner and
// writes the logs to the log store.
type JobsRunning struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger
	// UnreachableAfter is how long a job's host may not answer before the
	// job fails with instance_unreachable.
	UnreachableAfter time.Duration
}

// Name implements Pipeline.
func (p *JobsRunning) Name() string { return services.PipelineRunning }

// Claim implements Pipeline.
func (p *JobsRunning) Claim() db.Claim {
	// A job just placed (provisioning, no failed pass yet: a failed pass
	// sets disconnected_at, a good one moves it on) is taken at once.
	return db.Claim{Table: "jobs", Where: "status IN ('provisioning', 'pulling', 'running')", Limit: 64,
		TTL: 2 * time.Minute, ProcessedBefore: time.Now().UTC().Add(-time.Second),
		Eager: "status = 'provisioning' AND disconnected_at IS NULL"}
}

// Process implements Pipeline.
func (p *JobsRunning) Process(ctx context.Context, id, token string) error {
	j, err := db.GetJob(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	columns, err := p.step(ctx, j)
	if err != nil {
		p.Log.Warn("job step failed", "job", j.JobName, "status", j.Status, "err", err)
		columns = append(columns, p.disconnected(j, err)...)
	}
	_, err = db.UpdateLeased(ctx, p.Env.DB, j, token, time.Now().UTC(), columns...)
	if j.Status == string(schemas.JobTerminating) {
		p.Env.WakeUp(services.PipelineTerminate)
	}
	if j.Status == string(schemas.JobRunning) {
		p.Env.WakeUp(services.PipelineRuns)
	}
	return err
}

// jobColumns are what a step may change.
var jobColumns = []string{"status", "termination_reason", "termination_reason_message", "exit_status",
	"job_runtime_data", "runner_timestamp", "disconnected_at", "started_at"}

// step advances the job as far as it can now and returns the columns to write.
func (p *JobsRunning) step(ctx context.Context, j *db.Job) ([]string, error) {
	run, err := db.GetRun(ctx, p.Env.DB, j.RunID)
	if err != nil {
		return nil, err
	}
	var rs schemas.RunSpec
	if err := json.Unmarshal([]byte(run.RunSpec), &rs); err != nil {
		return nil, err
	}
	d, err := decodeJob(j)
	if err != nil || d.jpd == nil || d.jrd == nil {
		p.terminate(j, schemas.JobTerminatedByServer, "the job has no instance data")
		return jobColumns, err
	}
	if j.Status == string(schemas.JobRunning) && !p.pullDue(j) {
		return jobColumns, nil // what the runner says is not asked for yet
	}
	ja, err := (agents{env: p.Env, pool: p.Pool}).forJob(ctx, j)
	if err != nil {
		return nil, err
	}
	if j.Status == string(schemas.JobProvisioning) {
		if err := p.provision(ctx, ja, j, d, run, &rs); err != nil {
			return jobColumns, err
		}
	}
	if j.Status == string(schemas.JobPulling) {
		if ok, err := p.startRunner(ctx, ja, j, d, run, &rs); err != nil || !ok {
			return jobColumns, err
		}
	}
	if j.Status == string(schemas.JobRunning) && p.pullDue(j) {
		if err := p.pull(ctx, ja, j, d, run); err != nil {
			return jobColumns, err
		}
	}
	j.DisconnectedAt = nil
	return jobColumns, nil
}

// pullDue reports whether a running job's runner is pulled in this pass
// (see sched.RunnerPullDue).
func (p *JobsRunning) pullDue(j *db.Job) bool {
	pull := sched.RunnerPull{SubmittedAt: j.SubmittedAt, StartedAt: j.StartedAt, Pulled: j.RunnerTimestamp != nil}
	return sched.RunnerPullDue(pull, time.Now().UTC())
}

// pull collects the runner's states and logs; a final state ends the job.
func (p *JobsRunning) pull(ctx context.Context, ja *jobAgent, j *db.Job, d *jobData, run *db.Run) error {
	rc := ja.runner(d.jrd)
	project, err := db.GetProjectByID(ctx, p.Env.DB, j.ProjectID)
	if err != nil {
		return err
	}
	for range 8 { // drain quickly when the runner has a backlog
		var since int64
		if j.RunnerTimestamp != nil {
			since = *j.RunnerTimestamp
		}
		res, err := rc.Pull(ctx, since)
		if err != nil {
			return err
		}
		if err := p.storeLogs(ctx, project.Name, j, res); err != nil {
			return err
		}
		j.RunnerTimestamp = &res.LastUpdated
		p.applyStates(j, res.JobStates)
		if !res.HasMore || j.Status != string(schemas.JobRunning) {
			break
		}
	}
	// max_duration is the runner's to enforce, as upstream: it counts from
	// the job's start and reports terminated / max_duration_exceeded. The
	// server cannot tell when the job started (submitted_at also counts the
	// queue, the placement and the image pull), so it does not cut it short.
	return nil
}

func (p *JobsRunning) storeLogs(ctx context.Context, project string, j *db.Job, res *agent.PullResponse) error {
	key := logstore.Key{Project: project, Run: j.RunName, JobSubmissionID: j.ID}
	if err := p.Env.Logs.Write(ctx, key, events(res.JobLogs)); err != nil {
		return err
	}
	key.Diagnose = true
	return p.Env.Logs.Write(ctx, key, events(res.RunnerLogs))
}

func events(ls []agent.LogEvent) []logstore.Event {
	out := make([]logstore.Event, len(ls))
	for i, l := range ls {
		out[i] = logstore.Event{Timestamp: time.UnixMilli(l.Timestamp).UTC(), Message: l.Message}
	}
	return out
}

// applyStates maps the runner's last state onto the job.
func (p *JobsRunning) applyStates(j *db.Job, states []agent.JobStateEvent) {
	if len(states) == 0 {
		return
	}
	last := states[len(states)-1]
	if last.ExitStatus != nil {
		j.ExitStatus = last.ExitStatus
	}
	switch last.State {
	case agent.JobStateDone:
		p.terminate(j, schemas.JobDoneByRunner, "")
	case agent.JobStateFailed, agent.JobStateTerminated:
		reason := schemas.JobTerminationReason(last.TerminationReason)
		if reason == "" {
			reason = schemas.JobContainerExitedWithError
		}
		p.terminate(j, reason, last.TerminationMessage)
	}
}

// terminate moves the job to terminating with a reason.
func (p *JobsRunning) terminate(j *db.Job, reason schemas.JobTerminationReason, msg string) {
	j.Status = string(schemas.JobTerminating)
	j.TerminationReason = ptr(string(reason))
	if msg != "" {
		j.TerminationReasonMessage = &msg
	}
}

// disconnected records that the host did not answer; after a while the job
// fails with instance_unreachable.
func (p *JobsRunning) disconnected(j *db.Job, cause error) []string {
	now := time.Now().UTC()
	if j.DisconnectedAt == nil {
		j.DisconnectedAt = &now
	}
	limit := p.UnreachableAfter
	if limit == 0 {
		limit = 2 * time.Minute
	}
	if now.Sub(*j.DisconnectedAt) > limit {
		p.terminate(j, schemas.JobInstanceUnreachable, cause.Error())
	}
	return []string{"disconnected_at"}
}
