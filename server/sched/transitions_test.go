package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestCanTransitionJob(t *testing.T) {
	tests := []struct {
		name     string
		from, to schemas.JobStatus
		want     bool
	}{
		{"submitted to provisioning", schemas.JobSubmitted, schemas.JobProvisioning, true},
		{"submitted to terminating (no capacity, stop)", schemas.JobSubmitted, schemas.JobTerminating, true},
		{"submitted cannot skip to running", schemas.JobSubmitted, schemas.JobRunning, false},
		{"submitted cannot fail directly", schemas.JobSubmitted, schemas.JobFailed, false},
		{"provisioning to pulling", schemas.JobProvisioning, schemas.JobPulling, true},
		{"provisioning to running (container-only backend)", schemas.JobProvisioning, schemas.JobRunning, true},
		{"pulling to running", schemas.JobPulling, schemas.JobRunning, true},
		{"pulling back to provisioning", schemas.JobPulling, schemas.JobProvisioning, false},
		{"running to terminating", schemas.JobRunning, schemas.JobTerminating, true},
		{"running cannot finish without terminating", schemas.JobRunning, schemas.JobDone, false},
		{"terminating to done", schemas.JobTerminating, schemas.JobDone, true},
		{"terminating to failed", schemas.JobTerminating, schemas.JobFailed, true},
		{"terminating to aborted", schemas.JobTerminating, schemas.JobAborted, true},
		{"terminating to terminated", schemas.JobTerminating, schemas.JobTerminated, true},
		{"terminating back to running", schemas.JobTerminating, schemas.JobRunning, false},
		{"final is final", schemas.JobFailed, schemas.JobSubmitted, false},
		{"same status is no transition", schemas.JobRunning, schemas.JobRunning, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CanTransitionJob(tt.from, tt.to))
		})
	}
}

func TestCanTransitionRun(t *testing.T) {
	tests := []struct {
		name     string
		from, to schemas.RunStatus
		want     bool
	}{
		{"pending resubmitted", schemas.RunPending, schemas.RunSubmitted, true},
		{"pending stopped", schemas.RunPending, schemas.RunTerminating, true},
		{"pending cannot run", schemas.RunPending, schemas.RunRunning, false},
		{"submitted to provisioning", schemas.RunSubmitted, schemas.RunProvisioning, true},
		{"running back to provisioning (replica retry)", schemas.RunRunning, schemas.RunProvisioning, true},
		{"running to pending (retry)", schemas.RunRunning, schemas.RunPending, true},
		{"running to terminating", schemas.RunRunning, schemas.RunTerminating, true},
		{"running cannot be done directly", schemas.RunRunning, schemas.RunDone, false},
		{"terminating to done", schemas.RunTerminating, schemas.RunDone, true},
		{"terminating to failed", schemas.RunTerminating, schemas.RunFailed, true},
		{"terminating does not go back to pending", schemas.RunTerminating, schemas.RunPending, false},
		{"terminating back to running", schemas.RunTerminating, schemas.RunRunning, false},
		{"done is final", schemas.RunDone, schemas.RunPending, false},
		{"same status is no transition", schemas.RunSubmitted, schemas.RunSubmitted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CanTransitionRun(tt.from, tt.to))
		})
	}
}

func TestCanTransitionInstance(t *testing.T) {
	tests := []struct {
		name     string
		from, to schemas.InstanceStatus
		want     bool
	}{
		{"cloud pending to provisioning", schemas.InstancePending, schemas.InstanceProvisioning, true},
		{"ssh pending to idle", schemas.InstancePending, schemas.InstanceIdle, true},
		{"ssh deploy timeout", schemas.InstancePending, schemas.InstanceTerminated, true},
		{"pending cannot be busy", schemas.InstancePending, schemas.InstanceBusy, false},
		{"provisioning to idle", schemas.InstanceProvisioning, schemas.InstanceIdle, true},
		{"provisioning to busy (job waiting)", schemas.InstanceProvisioning, schemas.InstanceBusy, true},
		{"idle to busy", schemas.InstanceIdle, schemas.InstanceBusy, true},
		{"busy to idle", schemas.InstanceBusy, schemas.InstanceIdle, true},
		{"idle timeout", schemas.InstanceIdle, schemas.InstanceTerminating, true},
		{"idle cannot be terminated without terminating", schemas.InstanceIdle, schemas.InstanceTerminated, false},
		{"terminating to terminated", schemas.InstanceTerminating, schemas.InstanceTerminated, true},
		{"terminating back to idle", schemas.InstanceTerminating, schemas.InstanceIdle, false},
		{"terminated is final", schemas.InstanceTerminated, schemas.InstancePending, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CanTransitionInstance(tt.from, tt.to))
		})
	}
}

func TestCanTransitionFleet(t *testing.T) {
	tests := []struct {
		name     string
		from, to schemas.FleetStatus
		want     bool
	}{
		{"submitted to active", schemas.FleetSubmitted, schemas.FleetActive, true},
		{"submitted fails", schemas.FleetSubmitted, schemas.FleetFailed, true},
		{"deleted while submitted", schemas.FleetSubmitted, schemas.FleetTerminating, true},
		{"active deleted", schemas.FleetActive, schemas.FleetTerminating, true},
		{"active cannot end without terminating", schemas.FleetActive, schemas.FleetTerminated, false},
		{"terminating ends", schemas.FleetTerminating, schemas.FleetTerminated, true},
		{"terminating does not come back", schemas.FleetTerminating, schemas.FleetActive, false},
		{"terminated is final", schemas.FleetTerminated, schemas.FleetActive, false},
		{"same status is no transition", schemas.FleetActive, schemas.FleetActive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CanTransitionFleet(tt.from, tt.to))
		})
	}
}
