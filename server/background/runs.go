package background

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Runs moves runs along with their jobs (sched.DecideRun): an active run takes
// the status its jobs give it and retries replicas that failed retryably, a
// pending run is resubmitted after a back-off, a terminating run stops its jobs
// and ends once they have finished. See README.md for the state diagram.
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
		TTL: leaseTTL, MinInterval: time.Second, Eager: runsEager}
}

// Process implements Pipeline: load the run and its jobs, decide, apply in
// one transaction under the run's lease.
func (p *Runs) Process(ctx context.Context, id, token string) error {
	r, err := db.GetRun(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	all, err := db.ListRunJobs(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	snap := services.RunSnapshot(r, all)
	if snap.Broken != "" && schemas.RunStatus(r.Status) != schemas.RunTerminating {
		p.Log.Error("run stopped: its stored data cannot be read", "run", r.RunName, "err", snap.Broken)
	}
	now := time.Now().UTC()
	dec := sched.DecideRun(snap, now, p.backoff(r.ResubmissionAttempt))
	svc, err := (services.Runs{Env: p.Env}).LoadServiceState(ctx, r, all, now)
	if err != nil {
		return err
	}
	var sd sched.ServiceDecision
	if svc != nil {
		dec, sd = sched.DecideService(snap, dec, svc.Scale, now)
	}
	from := r.Status
	err = p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := p.apply(ctx, tx, r, all, dec, now); err != nil {
			return err
		}
		if svc != nil {
			if err := p.scale(ctx, tx, r, all, svc, sd, now); err != nil {
				return err
			}
		}
		ok, err := db.UpdateLeased(ctx, tx, r, token, now, "status", "termination_reason", "resubmission_attempt", "fleet_id",
			"desired_replica_count")
		if err != nil || !ok {
			return errLeaseLost(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r.Status != from {
		p.Log.Info("run status", "run", r.RunName, "from", from, "to", r.Status, "reason", deref(r.TerminationReason),
			"attempt", r.ResubmissionAttempt)
	}
	return nil
}

// apply writes the decision's job changes and sets the run's new state.
func (p *Runs) apply(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, dec sched.RunDecision, now time.Time) error {
	if err := services.SetRunStatus(r, dec.Path...); err != nil {
		return err
	}
	if dec.TerminationReason != "" {
		r.TerminationReason = ptr(string(dec.TerminationReason))
	}
	r.ResubmissionAttempt = dec.ResubmissionAttempt
	if dec.ClearFleet {
		r.FleetID = nil
	}
	stopped := false
	for _, t := range dec.Terminate {
		j := findJob(all, t.JobID)
		if j == nil {
			continue
		}
		ok, err := setJob(ctx, tx, j, func(j *db.Job) error {
			if err := services.SetJobStatus(j, schemas.JobTerminating); err != nil {
				return err
			}
			j.TerminationReason = ptr(string(t.Reason))
			if t.Message != "" {
				j.TerminationReasonMessage = ptr(t.Message)
			}
			return nil
		}, "status", "termination_reason", "termination_reason_message")
		if err != nil {
			return err
		}
		stopped = stopped || ok
	}
	if stopped {
		p.Env.WakeUp(services.PipelineTerminate)
	}
	for _, replica := range dec.Resubmit {
		if err := p.newSubmissions(ctx, tx, r, all, replica, now); err != nil {
			return err
		}
	}
	if len(dec.Resubmit) > 0 {
		p.Env.WakeUp(services.PipelineJobs)
	}
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
			return fmt.Errorf("resubmit job %s: its stored spec cannot be read: %w", j.JobName, err)
		}
		rows = append(rows, services.NewJobRow(r, spec, j.SubmissionNum+1, now))
		services.RecordOn(&rows[len(rows)-1].Events, services.System, "Job created on retry. Status: SUBMITTED")
	}
	return db.InsertJobs(ctx, tx, rows)
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

// setJob writes the change mutate makes to a job, unless a pipeline holds
// the job right now (its own write would undo ours when it releases the
// row: a stopped job set back to running) or the job's status moved on
// since it was loaded; the run's next pass decides again. j changes only
// when the write happened.
func setJob(ctx context.Context, tx bun.Tx, j *db.Job, mutate func(*db.Job) error, columns ...string) (bool, error) {
	c := *j
	if err := mutate(&c); err != nil {
		return false, err
	}
	leaseNow, err := db.Clock(ctx, tx) // leases are measured in the database's time
	if err != nil {
		return false, err
	}
	ok, err := db.UpdateJobIfFree(ctx, tx, &c, j.Status, leaseNow, columns...)
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
