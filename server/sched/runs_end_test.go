package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func withReason(s JobSnapshot, r schemas.JobTerminationReason) JobSnapshot {
	s.TerminationReason = r
	return s
}

func processedAt(s JobSnapshot, at time.Time) JobSnapshot {
	s.LastProcessedAt = at
	return s
}

func TestDecideTerminating(t *testing.T) {
	terminating := func(r schemas.RunTerminationReason, jobs ...JobSnapshot) RunSnapshot {
		return RunSnapshot{Status: schemas.RunTerminating, TerminationReason: r, ResubmissionAttempt: 1, Jobs: jobs}
	}
	tests := []struct {
		name string
		run  RunSnapshot
		want RunDecision
	}{
		{"jobs still active are told to stop", terminating(schemas.RunStoppedByUser,
			sub(0, 0, 0, schemas.JobRunning), withReason(sub(0, 1, 0, schemas.JobTerminating), schemas.JobTerminatedByUser),
			sub(0, 2, 0, schemas.JobDone), sub(0, 3, 0, schemas.JobSubmitted)),
			RunDecision{ResubmissionAttempt: 1, Terminate: []JobTermination{
				{JobID: subID(0, 0, 0), Reason: schemas.JobTerminatedByUser},
				{JobID: subID(0, 3, 0), Reason: schemas.JobTerminatedByUser}}}},
		{"an abort turns a graceful stop into an immediate one", terminating(schemas.RunAbortedByUser,
			withReason(sub(0, 0, 0, schemas.JobTerminating), schemas.JobTerminatedByUser),
			withReason(sub(0, 1, 0, schemas.JobTerminating), schemas.JobAbortedByUser)),
			RunDecision{ResubmissionAttempt: 1, Terminate: []JobTermination{
				{JobID: subID(0, 0, 0), Reason: schemas.JobAbortedByUser}}}},
		{"finishing jobs keep their reason", terminating(schemas.RunAllJobsDone,
			withReason(sub(0, 0, 0, schemas.JobTerminating), schemas.JobDoneByRunner)),
			RunDecision{ResubmissionAttempt: 1}},
		{"only the latest submission counts", terminating(schemas.RunJobFailed,
			sub(0, 0, 0, schemas.JobRunning), sub(0, 0, 1, schemas.JobFailed)),
			RunDecision{Path: path(schemas.RunFailed), ResubmissionAttempt: 1}},
		{"all finished: final status", terminating(schemas.RunRetryLimitExceeded, sub(0, 0, 0, schemas.JobFailed)),
			RunDecision{Path: path(schemas.RunFailed), ResubmissionAttempt: 1}},
		{"stopped by user ends terminated", terminating(schemas.RunStoppedByUser, sub(0, 0, 0, schemas.JobTerminated)),
			RunDecision{Path: path(schemas.RunTerminated), ResubmissionAttempt: 1}},
		{"all done ends done", terminating(schemas.RunAllJobsDone, sub(0, 0, 0, schemas.JobDone)),
			RunDecision{Path: path(schemas.RunDone), ResubmissionAttempt: 1}},
		{"no reason is a server error", terminating("", sub(0, 0, 0, schemas.JobRunning)),
			RunDecision{TerminationReason: schemas.RunServerError, ResubmissionAttempt: 1, Terminate: []JobTermination{
				{JobID: subID(0, 0, 0), Reason: schemas.JobTerminatedByServer}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, decideTerminating(tt.run))
		})
	}
}

func TestDecidePending(t *testing.T) {
	const backoff = 30 * time.Second
	pending := func(jobs ...JobSnapshot) RunSnapshot {
		return RunSnapshot{Status: schemas.RunPending, ResubmissionAttempt: 2, Jobs: jobs}
	}
	tests := []struct {
		name string
		run  RunSnapshot
		now  time.Time
		want RunDecision
	}{
		{"waits out the back-off from the last processing", pending(sub(0, 0, 0, schemas.JobFailed),
			processedAt(sub(1, 0, 0, schemas.JobFailed), t0.Add(10*time.Second))),
			t0.Add(39 * time.Second), RunDecision{ResubmissionAttempt: 2}},
		{"resubmits every replica after the back-off", pending(sub(0, 0, 0, schemas.JobFailed),
			sub(0, 1, 0, schemas.JobTerminated), processedAt(sub(1, 0, 0, schemas.JobFailed), t0.Add(10*time.Second))),
			t0.Add(40 * time.Second), RunDecision{Path: path(schemas.RunSubmitted), ResubmissionAttempt: 2,
				ClearFleet: true, Resubmit: []int{0, 1}}},
		{"a job still terminating keeps the run waiting", pending(sub(0, 0, 0, schemas.JobFailed),
			sub(0, 1, 0, schemas.JobTerminating)),
			t0.Add(time.Hour), RunDecision{ResubmissionAttempt: 2}},
		{"a job left active is stopped first", pending(sub(0, 0, 0, schemas.JobFailed), sub(0, 1, 0, schemas.JobRunning)),
			t0.Add(time.Hour), RunDecision{ResubmissionAttempt: 2, Terminate: []JobTermination{
				{JobID: subID(0, 1, 0), Reason: schemas.JobTerminatedByServer, Message: msgResubmitted}}}},
		{"older submissions do not count", pending(sub(0, 0, 0, schemas.JobRunning),
			processedAt(sub(0, 0, 1, schemas.JobFailed), t0)),
			t0.Add(time.Minute), RunDecision{Path: path(schemas.RunSubmitted), ResubmissionAttempt: 2,
				ClearFleet: true, Resubmit: []int{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, decidePending(tt.run, tt.now, backoff))
		})
	}
}

func TestDecideRun(t *testing.T) {
	now := t0.Add(time.Minute)
	tests := []struct {
		name string
		run  RunSnapshot
		want RunDecision
	}{
		{"an active run whose jobs are done ends in one pass", RunSnapshot{Status: schemas.RunRunning,
			Jobs: []JobSnapshot{sub(0, 0, 0, schemas.JobDone)}},
			RunDecision{Path: path(schemas.RunTerminating, schemas.RunDone), TerminationReason: schemas.RunAllJobsDone}},
		{"a failing run stops its other jobs at once", RunSnapshot{Status: schemas.RunRunning,
			Jobs: []JobSnapshot{failed(sub(0, 0, 0, ""), schemas.JobContainerExitedWithError, nil),
				sub(0, 1, 0, schemas.JobRunning)}},
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunJobFailed,
				Terminate: []JobTermination{{JobID: subID(0, 1, 0), Reason: schemas.JobTerminatedByServer}}}},
		{"a run finishing its jobs stays terminating", RunSnapshot{Status: schemas.RunRunning,
			Jobs: []JobSnapshot{withReason(sub(0, 0, 0, schemas.JobTerminating), schemas.JobDoneByRunner)}},
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunAllJobsDone}},
		{"a broken run stops with server_error", RunSnapshot{Status: schemas.RunSubmitted, Broken: "bad spec",
			Jobs: []JobSnapshot{sub(0, 0, 0, schemas.JobSubmitted)}},
			RunDecision{Path: path(schemas.RunTerminating), TerminationReason: schemas.RunServerError,
				Terminate: []JobTermination{{JobID: subID(0, 0, 0), Reason: schemas.JobTerminatedByServer, Message: "bad spec"}}}},
		{"a broken pending run stops too", RunSnapshot{Status: schemas.RunPending, Broken: "bad spec",
			Jobs: []JobSnapshot{sub(0, 0, 0, schemas.JobFailed)}},
			RunDecision{Path: path(schemas.RunTerminating, schemas.RunFailed), TerminationReason: schemas.RunServerError}},
		{"a pending run is resubmitted", RunSnapshot{Status: schemas.RunPending, ResubmissionAttempt: 1,
			Jobs: []JobSnapshot{sub(0, 0, 0, schemas.JobFailed)}},
			RunDecision{Path: path(schemas.RunSubmitted), ResubmissionAttempt: 1, ClearFleet: true, Resubmit: []int{0}}},
		{"a terminating run ends", RunSnapshot{Status: schemas.RunTerminating, TerminationReason: schemas.RunStoppedByUser,
			Jobs: []JobSnapshot{sub(0, 0, 0, schemas.JobTerminated)}},
			RunDecision{Path: path(schemas.RunTerminated)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideRun(tt.run, now, 15*time.Second)
			require.Equal(t, tt.want, d)
			from := tt.run.Status
			for _, to := range d.Path {
				require.True(t, CanTransitionRun(from, to), "%s → %s", from, to)
				from = to
			}
		})
	}
}

func TestResubmitAfter(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"not retried", 0, 0},
		{"first", 1, 15 * time.Second},
		{"second", 2, 30 * time.Second},
		{"third", 3, time.Minute},
		{"fourth", 4, 2 * time.Minute},
		{"fifth", 5, 5 * time.Minute},
		{"sixth", 6, 10 * time.Minute},
		{"later stays at 10m", 42, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ResubmitAfter(tt.attempt))
		})
	}
}
