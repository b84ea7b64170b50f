package sched

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// RunStatusMessage is the run's status_message: "pulling" when the latest submission of
// every job is pulling; "retrying" for a submitted or pending run one of whose jobs last
// failed to start for lack of capacity with no-capacity among its retry events; otherwise
// the status itself.
func RunStatusMessage(run RunSnapshot) string {
	if len(run.Jobs) == 0 {
		return string(run.Status)
	}
	latest, _ := indexSubmissions(run.Jobs)
	if !slices.ContainsFunc(latest, func(j JobSnapshot) bool { return j.Status != schemas.JobPulling }) {
		return "pulling"
	}
	if run.Status == schemas.RunSubmitted || run.Status == schemas.RunPending {
		for _, j := range latest {
			if j.Retry != nil && slices.Contains(j.Retry.OnEvents, schemas.RetryEventNoCapacity) &&
				lastTerminationReason(run.Jobs, j) == schemas.JobFailedToStartNoCapacity {
				return "retrying"
			}
		}
	}
	return string(run.Status)
}

// lastTerminationReason is the reason of the newest submission of latest's job that has one.
func lastTerminationReason(subs []JobSnapshot, latest JobSnapshot) schemas.JobTerminationReason {
	best, reason := -1, schemas.JobTerminationReason("")
	for _, s := range subs {
		if s.ReplicaNum == latest.ReplicaNum && s.JobNum == latest.JobNum &&
			s.TerminationReason != "" && s.SubmissionNum > best {
			best, reason = s.SubmissionNum, s.TerminationReason
		}
	}
	return reason
}

// JobStatusMessage is a job submission's status_message: done → "exited (0)"; failed →
// "exited (N)" for a container exit, "no fleets" / "no capacity" for failures to start
// (told apart by msgNoMatchingFleet in the message), "interrupted", or "error"; terminated →
// "stopped" or "aborted" when the user asked; otherwise the status itself.
func JobStatusMessage(j JobSnapshot) string {
	switch j.Status {
	case schemas.JobDone:
		return "exited (0)"
	case schemas.JobFailed:
		switch j.TerminationReason {
		case schemas.JobContainerExitedWithError:
			if j.ExitStatus == nil {
				return "exited (None)"
			}
			return fmt.Sprintf("exited (%d)", *j.ExitStatus)
		case schemas.JobFailedToStartNoCapacity:
			if strings.Contains(j.TerminationReasonMessage, "No matching fleet found") {
				return "no fleets"
			}
			return "no capacity"
		case schemas.JobInterruptedByNoCapacity:
			return "interrupted"
		}
		return "error"
	case schemas.JobTerminated:
		switch j.TerminationReason {
		case schemas.JobTerminatedByUser:
			return "stopped"
		case schemas.JobAbortedByUser:
			return "aborted"
		}
	}
	return string(j.Status)
}

// RunError is the run's `error` field: set only for retry_limit_exceeded, server_error and
// gateway_error.
func RunError(r schemas.RunTerminationReason) string {
	switch r {
	case schemas.RunRetryLimitExceeded:
		return "retry limit exceeded"
	case schemas.RunServerError:
		return "server error"
	case schemas.RunGatewayError:
		return "gateway error"
	}
	return ""
}

// jobErrors are the job `error` texts of reasons the status message does not already tell.
var jobErrors = map[schemas.JobTerminationReason]string{
	schemas.JobInstanceUnreachable:    "instance unreachable",
	schemas.JobInstanceAccessRevoked:  "instance access revoked",
	schemas.JobWaitingInstanceLimit:   "waiting instance limit exceeded",
	schemas.JobWaitingRunnerLimit:     "waiting runner limit exceeded",
	schemas.JobVolumeError:            "volume error",
	schemas.JobGatewayError:           "gateway error",
	schemas.JobScaledDown:             "scaled down",
	schemas.JobInactivityExceeded:     "inactivity duration exceeded",
	schemas.JobUtilizationPolicy:      "utilization policy",
	schemas.JobPortsBindingFailed:     "ports binding failed",
	schemas.JobCreatingContainerError: "runner error",
	schemas.JobExecutorError:          "executor error",
	schemas.JobMaxDurationExceeded:    "max duration exceeded",
	schemas.JobLogQuotaExceeded:       "log quota exceeded",
}

// JobError is a job submission's `error` field ("" for none).
func JobError(r schemas.JobTerminationReason) string { return jobErrors[r] }
