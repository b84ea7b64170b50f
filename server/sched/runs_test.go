package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

var retryAll = &schemas.JobRetry{OnEvents: []schemas.RetryEvent{
	schemas.RetryEventNoCapacity, schemas.RetryEventInterruption, schemas.RetryEventError}, Duration: 3600}

func sub(replica, jobNum, num int, st schemas.JobStatus) JobSnapshot {
	return JobSnapshot{JobID: subID(replica, jobNum, num), ReplicaNum: replica, JobNum: jobNum,
		SubmissionNum: num, Status: st, LastProcessedAt: t0}
}

func subID(replica, jobNum, num int) string {
	return string(rune('a'+replica)) + string(rune('0'+jobNum)) + string(rune('0'+num))
}

func failed(s JobSnapshot, r schemas.JobTerminationReason, retry *schemas.JobRetry) JobSnapshot {
	s.Status, s.TerminationReason, s.Retry = schemas.JobFailed, r, retry
	return s
}

func path(st ...schemas.RunStatus) []schemas.RunStatus { return st }

func provisionedAt(s JobSnapshot, at time.Time) JobSnapshot {
	s.Provisioned, s.LastProcessedAt = true, at
	return s
}

func TestDeriveActive(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	run := func(st schemas.RunStatus, jobs ...JobSnapshot) RunSnapshot {
		return RunSnapshot{Status: st, SubmittedAt: t0, ResubmissionAttempt: 2, Jobs: jobs}
	}
	masterDone := run(schemas.RunRunning, sub(0, 0, 0, schemas.JobDone), sub(0, 1, 0, schemas.JobRunning))
	masterDone.StopCriteria = schemas.StopCriteriaMasterDone
	scheduled := run(schemas.RunSubmitted, failed(sub(0, 0, 0, schemas.JobSubmitted), schemas.JobFailedToStartNoCapacity, retryAll))
	scheduled.NextTriggeredAt = ptr(now.Add(-time.Minute))
	scheduled.SubmittedAt = t0.Add(-24 * time.Hour)
	noCap := failed(sub(0, 0, 0, schemas.JobSubmitted), schemas.JobFailedToStartNoCapacity, retryAll)
	// rollout is a service at deployment dep: replica 0 (deployment 0) runs, replica 1 of
	// deployment failedDep has failed.
	noCapacity := failed(sub(1, 0, 0, schemas.JobSubmitted), schemas.JobFailedToStartNoCapacity, nil)
	crashed := failed(sub(1, 0, 0, schemas.JobRunning), schemas.JobContainerExitedWithError, nil)
	rollout := func(dep, failedDep int, failedJob JobSnapshot) RunSnapshot {
		failedJob.DeploymentNum = failedDep
		r := run(schemas.RunRunning, sub(0, 0, 0, schemas.JobRunning), failedJob)
		r.DeploymentNum = dep
		return r
	}

	tests := []struct {
		name string
		run  RunSnapshot
		want RunDecision
	}{
		{"running", run(schemas.RunProvisioning, sub(0, 0, 0, schemas.JobRunning)),
			RunDecision{Path: path(schemas.RunRunning), ResubmissionAttempt: 2}},
		{"pulling is provisioning; counter reset", run(schemas.RunSubmitted, sub(0, 0, 0, schemas.JobPulling)),
			RunDecision{Path: path(schemas.RunProvisioning)}},
		{"submitted", run(schemas.RunSubmitted, sub(0, 0, 0, schemas.JobSubmitted)),
			RunDecision{ResubmissionAttempt: 2}},
		{"running beats provisioning", run(schemas.RunProvisioning, sub(0, 0, 0, schemas.JobProvisioning), sub(0, 1, 0, schemas.JobRunning)),
			RunDecision{Path: path(schemas.RunRunning), ResubmissionAttempt: 2}},
		{"all done", run(schemas.RunRunning, sub(0, 0, 0, schemas.JobDone),
			func() JobSnapshot {
				j := sub(0, 1, 0, schemas.JobTerminating)
				j.TerminationReason = schemas.JobDoneByRunner
				return j
			}()),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunAllJobsDone, ResubmissionAttempt: 2}},
		{"master done", masterDone,
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunAllJobsDone, ResubmissionAttempt: 2}},
		{"a rollout whose new replica failed keeps the service running", rollout(1, 1, noCapacity),
			RunDecision{ResubmissionAttempt: 2}},
		{"the next rollout too", rollout(2, 1, noCapacity), RunDecision{ResubmissionAttempt: 2}},
		{"a replica of the serving deployment that fails still fails the run", rollout(1, 0, crashed),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"failure without retry", run(schemas.RunRunning,
			failed(sub(0, 0, 0, schemas.JobRunning), schemas.JobContainerExitedWithError, nil)),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"event not in on_events", run(schemas.RunRunning, failed(provisionedAt(sub(0, 0, 0, ""), t0),
			schemas.JobContainerExitedWithError, &schemas.JobRetry{OnEvents: []schemas.RetryEvent{"no-capacity"}, Duration: 3600})),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"stopped by server is not retried", run(schemas.RunRunning, func() JobSnapshot {
			j := sub(0, 0, 0, schemas.JobTerminated)
			j.TerminationReason, j.Retry = schemas.JobTerminatedByServer, retryAll
			return j
		}()),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"no capacity within duration goes pending", run(schemas.RunSubmitted, noCap),
			RunDecision{Path: path(schemas.RunPending), ResubmissionAttempt: 3, ClearFleet: true}},
		{"no capacity past duration (from run submission)", func() RunSnapshot {
			r := run(schemas.RunSubmitted, noCap)
			r.SubmittedAt = now.Add(-2 * time.Hour)
			return r
		}(),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunRetryLimitExceeded, ResubmissionAttempt: 2}},
		{"scheduled run counts from its trigger", scheduled,
			RunDecision{Path: path(schemas.RunPending), ResubmissionAttempt: 3, ClearFleet: true}},
		{"error after provisioning counts from the last provisioned submission", run(schemas.RunRunning,
			provisionedAt(sub(0, 0, 0, schemas.JobFailed), now.Add(-2*time.Hour)),
			failed(provisionedAt(sub(0, 0, 1, ""), now.Add(-90*time.Minute)), schemas.JobInstanceUnreachable, retryAll)),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunRetryLimitExceeded, ResubmissionAttempt: 2}},
		{"no capacity after a provisioned submission counts from it", run(schemas.RunRunning,
			provisionedAt(sub(0, 0, 0, schemas.JobFailed), now.Add(-10*time.Minute)),
			failed(sub(0, 0, 1, ""), schemas.JobFailedToStartNoCapacity, retryAll)),
			RunDecision{Path: path(schemas.RunPending), ResubmissionAttempt: 3, ClearFleet: true}},
		{"error before any provisioning is not retried", run(schemas.RunSubmitted,
			failed(sub(0, 0, 0, ""), schemas.JobVolumeError, retryAll)),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"job_failed wins over retry_limit_exceeded", func() RunSnapshot {
			r := run(schemas.RunRunning, noCap, failed(sub(1, 0, 0, ""), schemas.JobExecutorError, nil))
			r.SubmittedAt = now.Add(-2 * time.Hour)
			return r
		}(),
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed, ResubmissionAttempt: 2}},
		{"a replica retries while another runs", run(schemas.RunRunning,
			sub(0, 0, 0, schemas.JobRunning),
			failed(provisionedAt(sub(1, 0, 0, ""), now), schemas.JobInterruptedByNoCapacity, retryAll),
			sub(1, 1, 0, schemas.JobRunning)),
			RunDecision{ResubmissionAttempt: 2, Resubmit: []int{1},
				Terminate: []JobTermination{{JobID: subID(1, 1, 0), Reason: schemas.JobTerminatedByServer, Message: msgResubmitted}}}},
		{"done replica plus a retrying one goes pending", run(schemas.RunRunning,
			sub(0, 0, 0, schemas.JobDone), failed(provisionedAt(sub(1, 0, 0, ""), now), schemas.JobInstanceUnreachable, retryAll)),
			RunDecision{Path: path(schemas.RunPending), ResubmissionAttempt: 3, ClearFleet: true}},
		{"scaled-down replicas are ignored", run(schemas.RunRunning, sub(0, 0, 0, schemas.JobRunning), func() JobSnapshot {
			j := sub(1, 0, 0, schemas.JobTerminated)
			j.TerminationReason = schemas.JobScaledDown
			return j
		}()),
			RunDecision{ResubmissionAttempt: 2}},
		{"the latest submission decides", run(schemas.RunProvisioning,
			failed(sub(0, 0, 0, ""), schemas.JobExecutorError, nil), sub(0, 0, 1, schemas.JobRunning)),
			RunDecision{Path: path(schemas.RunRunning), ResubmissionAttempt: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, deriveActive(tt.run, now))
		})
	}
}
