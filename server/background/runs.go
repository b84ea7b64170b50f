package background

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Runs derives each active run's status from its jobs (sched.DeriveRunStatus),
// retries and resubmits, and finishes runs:
//
//	submitted ─▶ provisioning ─▶ running ─▶ terminating ─▶ done | failed | terminated
//	     ▲                                        │
//	  pending ◀── every unfinished job retryable ─┘ (resubmitted after a back-off)
type Runs struct {
	Env *services.Env
	Log *slog.Logger
	// ResubmitAfter is the back-off before resubmission number attempt
	// (1-based) of a pending run; nil means upstream's schedule
	// (sched.ResubmitAfter: 15 s, 30 s, 1 m, 2 m, 5 m, 10 m).
	ResubmitAfter func(attempt int) time.Duration
}

// backoff is the wait before resubmission number attempt.
func (p *Runs) backoff(attempt int) time.Duration {
	if p.ResubmitAfter != nil {
		return p.ResubmitAfter(attempt)
	}
	return sched.ResubmitAfter(attempt)
}

// runsEager selects runs with a job changed since the run's last pass.
const runsEager = `EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = runs.id AND j.last_processed_at > runs.last_processed_at
	AND (j.status <> 'running' OR runs.status IN ('submitted', 'provisioning', 'pending')))`

// Name implements Pipeline.
func (p *Runs) Name() string { return services.PipelineRuns }

// Claim implements Pipeline.
func (p *Runs) Claim() db.Claim {
	// A run one of whose jobs changed since the run was last processed is
	// taken at once (running jobs, processed every pass, only while the run
	// has yet to become running): run statuses follow job transitions
	// without waiting out the minimum interval.
	return db.Claim{Table: "runs", Where: "deleted = FALSE AND status NOT IN ('terminated', 'failed', 'done')", Limit: 64,
		TTL: time.Minute, ProcessedBefore: time.Now().UTC().Add(-time.Second), Eager: runsEager}
}

// Process implements Pipeline.
func (p *Runs) Process(ctx context.Context, id, token string) error {
	r, err := db.GetRun(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	all, err := db.ListRunJobs(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	var rs schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &rs); err != nil {
		return err
	}
	now := time.Now().UTC()
	return p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		switch schemas.RunStatus(r.Status) {
		case schemas.RunTerminating:
			err = p.finish(ctx, tx, r, all, now)
		case schemas.RunPending:
			err = p.resubmit(ctx, tx, r, all, &rs, now)
		default:
			err = p.derive(ctx, tx, r, all, &rs, now)
		}
		if err != nil {
			return err
		}
		ok, err := db.UpdateLeased(ctx, tx, r, token, now, "status", "termination_reason", "resubmission_attempt", "fleet_id")
		if err != nil || !ok {
			return errLeaseLost(err)
		}
		return nil
	})
}

// latest keeps the newest submission of each job.
func latest(all []db.Job) []*db.Job {
	idx := map[[2]int]int{}
	var out []*db.Job
	for i := range all {
		k := [2]int{all[i].ReplicaNum, all[i].JobNum}
		if at, ok := idx[k]; ok {
			if all[i].SubmissionNum > out[at].SubmissionNum {
				out[at] = &all[i]
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, &all[i])
	}
	return out
}

// finish terminates the run's active jobs with the run's reason, and ends
// the run once every job has finished.
func (p *Runs) finish(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, now time.Time) error {
	reason := schemas.RunTerminationReason(deref(r.TerminationReason))
	if reason == "" {
		reason = schemas.RunServerError
		r.TerminationReason = ptr(string(reason))
	}
	pending := false
	for _, j := range latest(all) {
		st := schemas.JobStatus(j.Status)
		if st.Finished() {
			continue
		}
		pending = true
		if st == schemas.JobTerminating && reason != schemas.RunAbortedByUser {
			continue
		}
		if st == schemas.JobSubmitted && j.InstanceID == nil { // never placed: nothing to stop on a host
			if _, err := setJob(ctx, tx, j, func(j *db.Job) {
				j.Status = string(reason.JobReason().Status())
				j.TerminationReason = ptr(string(reason.JobReason()))
				j.FinishedAt = &now
			}, "status", "termination_reason", "finished_at"); err != nil {
				return err
			}
			continue
		}
		ok, err := setJob(ctx, tx, j, func(j *db.Job) {
			j.Status = string(schemas.JobTerminating)
			j.TerminationReason = ptr(string(reason.JobReason()))
		}, "status", "termination_reason")
		if err != nil {
			return err
		}
		if ok {
			p.Env.WakeUp(services.PipelineTerminate)
		}
	}
	if !pending {
		r.Status = string(reason.Status())
		p.Log.Info("run finished", "run", r.RunName, "status", r.Status, "reason", reason)
	}
	return nil
}

// derive applies sched's decision for an active run.
func (p *Runs) derive(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, rs *schemas.RunSpec, now time.Time) error {
	dec := sched.DeriveRunStatus(services.RunSnapshot(r, all, rs), now)
	for _, t := range dec.Terminate {
		j := findJob(all, t.JobID)
		if j == nil || schemas.JobStatus(j.Status).Finished() {
			continue
		}
		ok, err := setJob(ctx, tx, j, func(j *db.Job) {
			j.Status, j.TerminationReason = string(schemas.JobTerminating), ptr(string(t.Reason))
			if t.Message != "" {
				j.TerminationReasonMessage = ptr(t.Message)
			}
		}, "status", "termination_reason", "termination_reason_message")
		if err != nil {
			return err
		}
		if ok {
			p.Env.WakeUp(services.PipelineTerminate)
		}
	}
	for _, replica := range dec.RetryReplicas {
		if err := p.newSubmissions(ctx, tx, r, all, replica, now); err != nil {
			return err
		}
	}
	if dec.Status != "" && dec.Status != schemas.RunStatus(r.Status) {
		p.Log.Info("run status", "run", r.RunName, "from", r.Status, "to", dec.Status)
	}
	if dec.Status != "" {
		r.Status = string(dec.Status)
	}
	if dec.TerminationReason != "" {
		r.TerminationReason = ptr(string(dec.TerminationReason))
	}
	r.ResubmissionAttempt = dec.ResubmissionAttempt
	if dec.ClearFleet {
		r.FleetID = nil
	}
	if r.Status == string(schemas.RunTerminating) {
		return p.finish(ctx, tx, r, all, now)
	}
	return nil
}

// resubmit starts a pending run again after its back-off.
func (p *Runs) resubmit(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, rs *schemas.RunSpec, now time.Time) error {
	// The back-off counts from when the run's last job ended; a job still
	// terminating (its container being stopped, its blocks not yet given
	// back) keeps the run pending: resubmitting now would create no
	// submission for it and send the run through submitted back to pending
	// with a longer back-off.
	var ended time.Time
	waiting := false
	for _, j := range latest(all) {
		switch st := schemas.JobStatus(j.Status); {
		case st.Finished():
			if j.FinishedAt != nil && j.FinishedAt.After(ended) {
				ended = *j.FinishedAt
			}
		case st == schemas.JobTerminating:
			waiting = true
		default: // left active when the run went pending (its pipeline held it then)
			waiting = true
			ok, err := setJob(ctx, tx, j, func(j *db.Job) {
				j.Status, j.TerminationReason = string(schemas.JobTerminating), ptr(string(schemas.JobTerminatedByServer))
				j.TerminationReasonMessage = ptr(sched.MsgResubmitted)
			}, "status", "termination_reason", "termination_reason_message")
			if err != nil {
				return err
			}
			if ok {
				p.Env.WakeUp(services.PipelineTerminate)
			}
		}
	}
	if waiting || now.Sub(ended) < p.backoff(r.ResubmissionAttempt) {
		return nil
	}
	replicas := map[int]bool{}
	for _, j := range latest(all) {
		if schemas.JobStatus(j.Status).Finished() && !replicas[j.ReplicaNum] {
			replicas[j.ReplicaNum] = true
			if err := p.newSubmissions(ctx, tx, r, all, j.ReplicaNum, now); err != nil {
				return err
			}
		}
	}
	r.Status = string(schemas.RunSubmitted)
	r.FleetID = nil
	p.Log.Info("run resubmitted", "run", r.RunName, "attempt", r.ResubmissionAttempt)
	return nil
}

// newSubmissions adds the next submission of every job of a replica.
func (p *Runs) newSubmissions(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, replica int, now time.Time) error {
	var rows []db.Job
	for _, j := range latest(all) {
		if j.ReplicaNum != replica {
			continue
		}
		var spec schemas.JobSpec
		if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
			return err
		}
		row := services.NewJobRow(r, spec, j.SubmissionNum+1, now)
		rows = append(rows, row)
	}
	p.Env.WakeUp(services.PipelineJobs)
	return db.InsertJobs(ctx, tx, rows)
}

// setJob writes the change mutate makes to a job, unless a pipeline holds
// the job right now: its own write would undo ours when it releases the row
// (a stopped job set back to running), so the run's next pass tries again.
// j changes only when the write happened.
func setJob(ctx context.Context, tx bun.Tx, j *db.Job, mutate func(*db.Job), columns ...string) (bool, error) {
	c := *j
	mutate(&c)
	leaseNow, err := db.Clock(ctx, tx) // leases are measured in the database's time
	if err != nil {
		return false, err
	}
	ok, err := db.UpdateJobIfFree(ctx, tx, &c, leaseNow, columns...)
	if err != nil || !ok {
		return false, err
	}
	*j = c
	return true, nil
}

func findJob(all []db.Job, id string) *db.Job {
	for i := range all {
		if all[i].ID == id {
			return &all[i]
		}
	}
	return nil
}
