package sched

import (
	"slices"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// retryVerdict is what shouldRetry decides for a finished job submission.
type retryVerdict int

const (
	// retryNo: the failure may not be retried; the run fails with job_failed.
	retryNo retryVerdict = iota
	// retryLimitExceeded: retryable, but the retry duration is used up; the run fails with
	// retry_limit_exceeded.
	retryLimitExceeded
	// retryYes: resubmit the job's replica.
	retryYes
)

// shouldRetry decides whether a job submission that ended without finishing its work
// (failed, or stopped for a reason other than done or scaled down) is retried. The job spec
// must have a retry policy whose on_events contain the termination reason's retry event
// (no-capacity, interruption or error; stops by user or server have none). The elapsed retry
// time is measured:
//   - for no-capacity when the job never got provisioned: since the run was submitted (for a
//     scheduled run, since its current trigger, next_triggered_at);
//   - otherwise since last_processed_at of the job's latest provisioned submission
//     (lastProvisioned, nil when none; a non-capacity failure of a never-provisioned job is
//     not retried, as upstream).
//
// The retry is allowed while the elapsed time does not exceed retry.duration.
func shouldRetry(run RunSnapshot, job JobSnapshot, lastProvisioned *JobSnapshot, now time.Time) retryVerdict {
	if job.Retry == nil || job.TerminationReason == "" {
		return retryNo
	}
	event := job.TerminationReason.RetryEvent()
	if event == "" || !slices.Contains(job.Retry.OnEvents, event) {
		return retryNo
	}
	var since time.Time
	switch {
	case event == schemas.RetryEventNoCapacity && lastProvisioned == nil:
		since = run.SubmittedAt
		if run.NextTriggeredAt != nil {
			since = *run.NextTriggeredAt
		}
	case lastProvisioned != nil:
		since = lastProvisioned.LastProcessedAt
	default:
		return retryNo
	}
	if now.Sub(since) > time.Duration(job.Retry.Duration)*time.Second {
		return retryLimitExceeded
	}
	return retryYes
}

// resubmitDelays are the back-off steps between resubmissions of a pending run; they keep a
// run that retries for hours on no capacity from piling up submissions.
var resubmitDelays = []time.Duration{
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
}

// ResubmitAfter is how long a pending run waits after its jobs were last processed before
// resubmission number attempt (1-based): 15 s, 30 s, 1 m, 2 m, 5 m, then 10 m for every
// later attempt. Attempt 0 (a run that has not been retried) waits for nothing.
func ResubmitAfter(attempt int) time.Duration {
	if attempt <= 0 {
		return 0
	}
	return resubmitDelays[min(attempt, len(resubmitDelays))-1]
}
