package sched

import "github.com/dstackgo/dstack/server/schemas"

// CanTransitionJob reports whether a job submission may move from one status to another.
// Staying in the same status is not a transition and reports false.
//
//	submitted ──▶ provisioning ──▶ pulling ──▶ running
//	    │              │  └─(container-only backends)─▶ running
//	    │              │              │            │
//	    └──────────────┴──────────────┴────────────┴──▶ terminating
//	                                                       │
//	                              terminated | aborted | failed | done ◀──┘
//
// Every failure, stop or finish goes through terminating; only the terminating pipeline
// assigns the final status (from the termination reason). Final statuses are never left:
// a retry is a new submission (submission_num + 1), not a transition.
func CanTransitionJob(from, to schemas.JobStatus) bool {
	switch from {
	case schemas.JobSubmitted:
		return to == schemas.JobProvisioning || to == schemas.JobTerminating
	case schemas.JobProvisioning:
		return to == schemas.JobPulling || to == schemas.JobRunning || to == schemas.JobTerminating
	case schemas.JobPulling:
		return to == schemas.JobRunning || to == schemas.JobTerminating
	case schemas.JobRunning:
		return to == schemas.JobTerminating
	case schemas.JobTerminating:
		return to.Finished()
	}
	return false
}

// CanTransitionRun reports whether a run may move from one status to another. Staying in the
// same status is not a transition and reports false.
//
//	pending ──resubmit──▶ submitted ◀──▶ provisioning ◀──▶ running
//	   ▲                      └──────────┬────┴───────────────┘
//	   └───── retryable failure ─────────┤
//	                                     ▼
//	                                terminating ──▶ terminated | failed | done
//
//	pending      ──▶ submitted (resubmitted) | terminating (stopped)
//	submitted, provisioning, running
//	             ──▶ each other | pending (retryable failure, nothing else active) | terminating
//	terminating  ──▶ terminated | failed | done
//
// The active statuses (submitted, provisioning, running) are derived from the jobs every
// cycle, so any of them may follow any other (a replica that retries takes a running run back
// to provisioning or submitted).
func CanTransitionRun(from, to schemas.RunStatus) bool {
	if from == to {
		return false
	}
	switch from {
	case schemas.RunPending:
		return to == schemas.RunSubmitted || to == schemas.RunTerminating
	case schemas.RunSubmitted, schemas.RunProvisioning, schemas.RunRunning:
		switch to {
		case schemas.RunPending, schemas.RunSubmitted, schemas.RunProvisioning, schemas.RunRunning,
			schemas.RunTerminating:
			return true
		}
	case schemas.RunTerminating:
		return to.Finished()
	}
	return false
}

// CanTransitionInstance reports whether an instance may move from one status to another.
// Staying in the same status is not a transition and reports false.
//
//	pending ──▶ provisioning ──▶ idle ◀──assign / release──▶ busy
//	                                  └─────────┬─────────────┘
//	                                            ▼
//	                     terminated ◀── terminating
//
//	pending      ──▶ provisioning | idle (SSH deploy ok) | terminating | terminated (deploy failed)
//	provisioning ──▶ idle | busy (a job already waits) | terminating | terminated (timeout)
//	idle         ──▶ busy (job assigned) | terminating (idle timeout, unreachable, fleet deleted)
//	busy         ──▶ idle (the last job released its blocks) | terminating
//	terminating  ──▶ terminated
//
// SSH instances go pending → idle (or provisioning until the shim is healthy); cloud instances
// go pending → provisioning → idle, or busy when the job they were created for is waiting.
// Idle and busy swap as jobs take and release blocks. Instances that never came up are
// terminated directly; running ones go through terminating.
func CanTransitionInstance(from, to schemas.InstanceStatus) bool {
	switch from {
	case schemas.InstancePending:
		switch to {
		case schemas.InstanceProvisioning, schemas.InstanceIdle, schemas.InstanceTerminating,
			schemas.InstanceTerminated:
			return true
		}
	case schemas.InstanceProvisioning:
		switch to {
		case schemas.InstanceIdle, schemas.InstanceBusy, schemas.InstanceTerminating,
			schemas.InstanceTerminated:
			return true
		}
	case schemas.InstanceIdle:
		return to == schemas.InstanceBusy || to == schemas.InstanceTerminating
	case schemas.InstanceBusy:
		return to == schemas.InstanceIdle || to == schemas.InstanceTerminating
	case schemas.InstanceTerminating:
		return to == schemas.InstanceTerminated
	}
	return false
}

// CanTransitionFleet reports whether a fleet may move from one status to another. Staying in
// the same status is not a transition and reports false.
//
//	submitted ──▶ active ──▶ terminating ──▶ terminated
//	    ├──────────────────────▲
//	    └──▶ failed
//
// SSH fleets are active from the start; a deleted fleet is terminating until all its
// instances are terminated.
func CanTransitionFleet(from, to schemas.FleetStatus) bool {
	switch from {
	case schemas.FleetSubmitted:
		return to == schemas.FleetActive || to == schemas.FleetTerminating || to == schemas.FleetFailed
	case schemas.FleetActive:
		return to == schemas.FleetTerminating
	case schemas.FleetTerminating:
		return to == schemas.FleetTerminated
	}
	return false
}
