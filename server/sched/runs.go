package sched

import (
	"cmp"
	"slices"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// JobSnapshot is one job submission of a run.
type JobSnapshot struct {
	JobID                    string
	ReplicaNum               int
	JobNum                   int
	SubmissionNum            int
	Status                   schemas.JobStatus
	TerminationReason        schemas.JobTerminationReason // "" when none
	TerminationReasonMessage string
	ExitStatus               *int
	Retry                    *schemas.JobRetry // the job spec's resolved retry policy
	Provisioned              bool              // the submission has job_provisioning_data
	LastProcessedAt          time.Time
	DeploymentNum            int // the run's deployment the submission was made for
}

// RunSnapshot is a run with every submission of every job (any order).
type RunSnapshot struct {
	Status              schemas.RunStatus
	TerminationReason   schemas.RunTerminationReason // "" when none
	SubmittedAt         time.Time
	NextTriggeredAt     *time.Time           // scheduled runs: the current trigger time
	StopCriteria        schemas.StopCriteria // "" means all-done
	ResubmissionAttempt int
	// DeploymentNum is the run's current deployment: a service updated in place rolls its
	// replicas from older deployments to this one.
	DeploymentNum int
	// Broken says why the run's stored spec or one of its job specs cannot be read ("" when
	// all can). Such a run is not derived from its jobs: it stops with server_error.
	Broken string
	Jobs   []JobSnapshot
}

// JobTermination asks for a job to move to terminating with a reason.
type JobTermination struct {
	JobID   string
	Reason  schemas.JobTerminationReason
	Message string // "" keeps the job's message
}

// RunDecision is the plan for a run after one pass of the runs pipeline.
type RunDecision struct {
	// Path lists the statuses the run takes in this pass, in order, each one a step
	// CanTransitionRun allows; it is empty when the run keeps its status. A run that must
	// stop while all its jobs have finished already goes through terminating to its final
	// status in one pass.
	Path []schemas.RunStatus
	// TerminationReason is the run's new termination reason ("" keeps the current one).
	TerminationReason schemas.RunTerminationReason
	// ResubmissionAttempt is the new value of the run's counter: reset when the run reaches
	// provisioning, incremented when it falls back to pending, unchanged otherwise.
	ResubmissionAttempt int
	// ClearFleet unassigns the run from its fleet, so that a retry may pick another.
	ClearFleet bool
	// Resubmit lists the replicas that get a new submission of each job (submission_num + 1).
	Resubmit []int
	// Terminate lists jobs to move to terminating.
	Terminate []JobTermination
}

// msgResubmitted is the termination message of jobs stopped so their replica can be retried.
const msgResubmitted = "Run is to be resubmitted"

// DecideRun is the runs pipeline's decision for one run:
//   - a pending run (waiting to be retried) is resubmitted once its jobs have finished and
//     resubmitAfter (the back-off of its resubmission attempt) has passed since they were
//     last processed; jobs still active are stopped first;
//   - an active run (submitted, provisioning, running) takes the status its jobs give it
//     (see deriveActive), retrying replicas whose jobs failed retryably;
//   - a terminating run stops its unfinished jobs and ends once they all have finished (see
//     decideTerminating).
//
// A run whose stored data cannot be read (Broken) stops with server_error, its jobs with the
// reason in their message. now is the current time.
func DecideRun(run RunSnapshot, now time.Time, resubmitAfter time.Duration) RunDecision {
	var d RunDecision
	switch {
	case run.Status == schemas.RunTerminating:
		return decideTerminating(run)
	case run.Broken != "":
		d = RunDecision{Path: []schemas.RunStatus{schemas.RunTerminating}, TerminationReason: schemas.RunServerError,
			ResubmissionAttempt: run.ResubmissionAttempt}
	case run.Status == schemas.RunPending:
		return decidePending(run, now, resubmitAfter)
	default:
		d = deriveActive(run, now)
	}
	if len(d.Path) == 0 || d.Path[len(d.Path)-1] != schemas.RunTerminating {
		return d
	}
	// The run stops in this pass: its jobs are told at once, and a run whose jobs have all
	// finished ends now rather than on its next pass.
	run.Status, run.TerminationReason = schemas.RunTerminating, d.TerminationReason
	t := decideTerminating(run)
	d.Path = append(d.Path, t.Path...)
	d.Terminate = append(d.Terminate, t.Terminate...)
	return d
}

// deriveActive derives the status of an active run (submitted, provisioning, running) from
// the latest submission of each job, in this priority order:
//
//  1. a failed job that may not be retried → terminating (job_failed), or retry_limit_exceeded
//     when its retry duration is exhausted;
//  2. stop_criteria master-done and the master job (job_num 0) is done → terminating
//     (all_jobs_done);
//  3. any job running → running; any provisioning or pulling → provisioning; any submitted →
//     submitted (replicas being retried do not count);
//  4. all jobs done (and nothing to retry) → terminating (all_jobs_done);
//  5. every unfinished replica needs a retry → pending (the whole run is resubmitted after
//     the resubmission back-off).
//
// A replica whose jobs failed retryably is retried as a whole: with the run still active
// (step 3) it gets new submissions now; otherwise the run goes pending. Either way its
// unfinished jobs are terminated. Jobs scaled down are ignored, and so is a replica of a
// newer deployment that failed while replicas of an older one still serve: a rolling
// update that could not start its new replica (no capacity, a crash) leaves the service as
// it was (see planReplicas) instead of stopping it. See shouldRetry for the retry rules; now
// is the current time.
func deriveActive(run RunSnapshot, now time.Time) RunDecision {
	latest, lastProvisioned := indexSubmissions(run.Jobs)
	// serving is the oldest deployment with a replica still active, when older than the run's.
	serving := run.DeploymentNum
	for _, j := range latest {
		if !j.Status.Finished() && j.Status != schemas.JobTerminating {
			serving = min(serving, j.DeploymentNum)
		}
	}
	statuses := map[schemas.RunStatus]bool{}
	var jobFailed, retryLimit bool
	var retry []int
	var retryJobs []JobSnapshot
	for _, replica := range groupByReplica(latest) {
		st, failReason, needsRetry := analyzeReplica(run, replica, lastProvisioned, now)
		switch {
		case st[schemas.RunFailed] && replica[0].DeploymentNum > serving:
			// a failed rollout: the older replicas keep the run as it was
		case st[schemas.RunFailed]:
			jobFailed = jobFailed || failReason == schemas.RunJobFailed
			retryLimit = retryLimit || failReason == schemas.RunRetryLimitExceeded
			statuses[schemas.RunFailed] = true
		case needsRetry:
			retry = append(retry, replica[0].ReplicaNum)
			retryJobs = append(retryJobs, replica...)
		default:
			for s := range st {
				statuses[s] = true
			}
		}
	}
	status, reason := runTransition(run, statuses, jobFailed, retryLimit, len(retry) > 0)
	d := RunDecision{TerminationReason: reason, ResubmissionAttempt: run.ResubmissionAttempt}
	switch status {
	case schemas.RunPending:
		d.Terminate = terminateForRetry(retryJobs)
	case schemas.RunSubmitted, schemas.RunProvisioning, schemas.RunRunning:
		if len(retry) > 0 {
			d.Resubmit, d.Terminate = retry, terminateForRetry(retryJobs)
		}
	}
	if status != run.Status {
		d.Path = []schemas.RunStatus{status}
		switch status {
		case schemas.RunProvisioning:
			d.ResubmissionAttempt = 0
		case schemas.RunPending:
			d.ResubmissionAttempt, d.ClearFleet = run.ResubmissionAttempt+1, true
		}
	}
	return d
}

func runTransition(run RunSnapshot, st map[schemas.RunStatus]bool, jobFailed, retryLimit,
	retrying bool) (schemas.RunStatus, schemas.RunTerminationReason) {
	switch {
	case st[schemas.RunFailed] && jobFailed:
		return schemas.RunTerminating, schemas.RunJobFailed
	case st[schemas.RunFailed] && retryLimit:
		return schemas.RunTerminating, schemas.RunRetryLimitExceeded
	case run.StopCriteria == schemas.StopCriteriaMasterDone && masterDone(run.Jobs):
		return schemas.RunTerminating, schemas.RunAllJobsDone
	case st[schemas.RunRunning]:
		return schemas.RunRunning, ""
	case st[schemas.RunProvisioning]:
		return schemas.RunProvisioning, ""
	case st[schemas.RunSubmitted]:
		return schemas.RunSubmitted, ""
	case st[schemas.RunDone] && !retrying:
		return schemas.RunTerminating, schemas.RunAllJobsDone
	}
	return schemas.RunPending, ""
}

// analyzeReplica classifies the latest submissions of one replica's jobs.
func analyzeReplica(run RunSnapshot, jobs []JobSnapshot, lastProvisioned map[jobKey]JobSnapshot,
	now time.Time) (st map[schemas.RunStatus]bool, fail schemas.RunTerminationReason, needsRetry bool) {
	st = map[schemas.RunStatus]bool{}
	for _, j := range jobs {
		switch {
		case j.Status == schemas.JobDone ||
			(j.Status == schemas.JobTerminating && j.TerminationReason == schemas.JobDoneByRunner):
			st[schemas.RunDone] = true
		case j.TerminationReason == schemas.JobScaledDown:
		case j.Status == schemas.JobRunning:
			st[schemas.RunRunning] = true
		case j.Status == schemas.JobProvisioning || j.Status == schemas.JobPulling:
			st[schemas.RunProvisioning] = true
		case j.Status == schemas.JobSubmitted:
			st[schemas.RunSubmitted] = true
		default: // failed, or terminating/terminated/aborted for a reason other than done
			var prov *JobSnapshot
			if p, ok := lastProvisioned[jobKey{j.ReplicaNum, j.JobNum}]; ok {
				prov = &p
			}
			switch shouldRetry(run, j, prov, now) {
			case retryNo:
				st[schemas.RunFailed] = true
				fail = worseFailure(fail, schemas.RunJobFailed)
			case retryLimitExceeded:
				st[schemas.RunFailed] = true
				fail = worseFailure(fail, schemas.RunRetryLimitExceeded)
			default:
				needsRetry = true
			}
		}
	}
	return st, fail, needsRetry
}

func worseFailure(have, r schemas.RunTerminationReason) schemas.RunTerminationReason {
	if have == schemas.RunJobFailed {
		return have
	}
	return r
}

func masterDone(jobs []JobSnapshot) bool {
	return slices.ContainsFunc(jobs, func(j JobSnapshot) bool {
		return j.JobNum == 0 && j.Status == schemas.JobDone
	})
}

func terminateForRetry(jobs []JobSnapshot) []JobTermination {
	var out []JobTermination
	for _, j := range jobs {
		if !j.Status.Finished() && j.Status != schemas.JobTerminating {
			out = append(out, JobTermination{JobID: j.JobID, Reason: schemas.JobTerminatedByServer,
				Message: msgResubmitted})
		}
	}
	return out
}

type jobKey struct{ replica, job int }

// indexSubmissions returns the latest submission of each job, sorted by replica and job
// number, and the latest provisioned submission of each job.
func indexSubmissions(subs []JobSnapshot) ([]JobSnapshot, map[jobKey]JobSnapshot) {
	latest := map[jobKey]JobSnapshot{}
	provisioned := map[jobKey]JobSnapshot{}
	for _, s := range subs {
		k := jobKey{s.ReplicaNum, s.JobNum}
		if l, ok := latest[k]; !ok || s.SubmissionNum > l.SubmissionNum {
			latest[k] = s
		}
		if p, ok := provisioned[k]; s.Provisioned && (!ok || s.SubmissionNum > p.SubmissionNum) {
			provisioned[k] = s
		}
	}
	out := make([]JobSnapshot, 0, len(latest))
	for _, s := range latest {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b JobSnapshot) int {
		return cmp.Or(cmp.Compare(a.ReplicaNum, b.ReplicaNum), cmp.Compare(a.JobNum, b.JobNum))
	})
	return out, provisioned
}

// groupByReplica splits jobs sorted by replica into one slice per replica.
func groupByReplica(sorted []JobSnapshot) [][]JobSnapshot {
	var out [][]JobSnapshot
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].ReplicaNum == sorted[i].ReplicaNum {
			j++
		}
		out = append(out, sorted[i:j])
		i = j
	}
	return out
}
