package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestRunStatusMessage(t *testing.T) {
	pulling := sub(0, 0, 0, schemas.JobPulling)
	noCap := failed(sub(0, 0, 0, ""), schemas.JobFailedToStartNoCapacity, retryAll)
	resubmitted := sub(0, 0, 1, schemas.JobSubmitted)
	resubmitted.Retry = retryAll
	tests := []struct {
		name string
		run  RunSnapshot
		want string
	}{
		{"no jobs", RunSnapshot{Status: schemas.RunSubmitted}, "submitted"},
		{"all pulling", RunSnapshot{Status: schemas.RunProvisioning, Jobs: []JobSnapshot{pulling, sub(0, 1, 0, schemas.JobPulling)}}, "pulling"},
		{"some pulling", RunSnapshot{Status: schemas.RunProvisioning, Jobs: []JobSnapshot{pulling, sub(0, 1, 0, schemas.JobProvisioning)}}, "provisioning"},
		{"retrying while pending", RunSnapshot{Status: schemas.RunPending, Jobs: []JobSnapshot{noCap}}, "retrying"},
		{"retrying while the new submission waits", RunSnapshot{Status: schemas.RunSubmitted, Jobs: []JobSnapshot{noCap, resubmitted}}, "retrying"},
		{"no retry on no-capacity", RunSnapshot{Status: schemas.RunPending,
			Jobs: []JobSnapshot{failed(sub(0, 0, 0, ""), schemas.JobFailedToStartNoCapacity, nil)}}, "pending"},
		{"running run is running", RunSnapshot{Status: schemas.RunRunning, Jobs: []JobSnapshot{noCap, sub(0, 0, 1, schemas.JobRunning)}}, "running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, RunStatusMessage(tt.run))
		})
	}
}

func TestJobStatusMessage(t *testing.T) {
	with := func(st schemas.JobStatus, r schemas.JobTerminationReason, msg string, exit *int) JobSnapshot {
		return JobSnapshot{Status: st, TerminationReason: r, TerminationReasonMessage: msg, ExitStatus: exit}
	}
	tests := []struct {
		name string
		job  JobSnapshot
		want string
	}{
		{"done", with(schemas.JobDone, schemas.JobDoneByRunner, "", nil), "exited (0)"},
		{"exit code", with(schemas.JobFailed, schemas.JobContainerExitedWithError, "", ptr(3)), "exited (3)"},
		{"no fleets", with(schemas.JobFailed, schemas.JobFailedToStartNoCapacity, msgNoMatchingFleet, nil), "no fleets"},
		{"no capacity", with(schemas.JobFailed, schemas.JobFailedToStartNoCapacity, "All matching instances are busy", nil), "no capacity"},
		{"interrupted", with(schemas.JobFailed, schemas.JobInterruptedByNoCapacity, "", nil), "interrupted"},
		{"other failure", with(schemas.JobFailed, schemas.JobInstanceUnreachable, "", nil), "error"},
		{"stopped", with(schemas.JobTerminated, schemas.JobTerminatedByUser, "", nil), "stopped"},
		{"terminated by server", with(schemas.JobTerminated, schemas.JobTerminatedByServer, "", nil), "terminated"},
		{"aborted", with(schemas.JobAborted, schemas.JobAbortedByUser, "", nil), "aborted"},
		{"running", with(schemas.JobRunning, "", "", nil), "running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, JobStatusMessage(tt.job))
		})
	}
}

func TestErrors(t *testing.T) {
	require.Equal(t, "retry limit exceeded", RunError(schemas.RunRetryLimitExceeded))
	require.Equal(t, "", RunError(schemas.RunJobFailed))
	require.Equal(t, "instance unreachable", JobError(schemas.JobInstanceUnreachable))
	require.Equal(t, "", JobError(schemas.JobContainerExitedWithError))
}
