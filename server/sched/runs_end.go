package sched

import (
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// decideTerminating is the plan for a terminating run. Each unfinished job (latest
// submission) moves to terminating with the job reason the run's reason imposes
// (all_jobs_done → done_by_runner, stopped_by_user → terminated_by_user, aborted_by_user →
// aborted_by_user, others → terminated_by_server); a job already terminating keeps its
// reason unless the user aborted, which turns a graceful stop into an immediate one. Once
// every job has finished, the run takes its reason's final status. A run without a reason
// gets server_error.
func decideTerminating(run RunSnapshot) RunDecision {
	d := RunDecision{ResubmissionAttempt: run.ResubmissionAttempt}
	reason := run.TerminationReason
	if reason == "" {
		reason = schemas.RunServerError
		d.TerminationReason = reason
	}
	jobReason := reason.JobReason()
	latest, _ := indexSubmissions(run.Jobs)
	unfinished := false
	for _, j := range latest {
		if j.Status.Finished() {
			continue
		}
		unfinished = true
		if j.Status == schemas.JobTerminating &&
			(reason != schemas.RunAbortedByUser || j.TerminationReason == jobReason) {
			continue
		}
		d.Terminate = append(d.Terminate, JobTermination{JobID: j.JobID, Reason: jobReason, Message: run.Broken})
	}
	if !unfinished {
		d.Path = []schemas.RunStatus{reason.Status()}
	}
	return d
}

// decidePending is the plan for a pending run, one whose replicas all failed retryably: it
// is resubmitted (every replica gets a new submission of each job, the run goes back to
// submitted, unassigned from its fleet) once all its jobs have finished and resubmitAfter
// has passed since they were last processed. A job still terminating keeps the run waiting
// (its blocks are not yet given back: resubmitting now would send the run straight back to
// pending with a longer back-off); one still active (its pipeline held it when the run went
// pending) is stopped first.
func decidePending(run RunSnapshot, now time.Time, resubmitAfter time.Duration) RunDecision {
	d := RunDecision{ResubmissionAttempt: run.ResubmissionAttempt}
	latest, _ := indexSubmissions(run.Jobs)
	var last time.Time
	var replicas []int
	waiting := false
	for _, j := range latest {
		switch {
		case j.Status.Finished():
			if j.LastProcessedAt.After(last) {
				last = j.LastProcessedAt
			}
			if len(replicas) == 0 || replicas[len(replicas)-1] != j.ReplicaNum {
				replicas = append(replicas, j.ReplicaNum)
			}
		case j.Status == schemas.JobTerminating:
			waiting = true
		default:
			waiting = true
			d.Terminate = append(d.Terminate, JobTermination{JobID: j.JobID, Reason: schemas.JobTerminatedByServer,
				Message: msgResubmitted})
		}
	}
	if waiting || now.Sub(last) < resubmitAfter {
		return d
	}
	d.Path, d.Resubmit, d.ClearFleet = []schemas.RunStatus{schemas.RunSubmitted}, replicas, true
	return d
}
