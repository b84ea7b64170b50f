package schemas

// RunStatus is a run's state, derived from its jobs.
type RunStatus string

// Run statuses (upstream wire values).
const (
	RunPending      RunStatus = "pending"
	RunSubmitted    RunStatus = "submitted"
	RunProvisioning RunStatus = "provisioning"
	RunRunning      RunStatus = "running"
	RunTerminating  RunStatus = "terminating"
	RunTerminated   RunStatus = "terminated"
	RunFailed       RunStatus = "failed"
	RunDone         RunStatus = "done"
)

// Finished reports whether the run is over.
func (s RunStatus) Finished() bool { return s == RunTerminated || s == RunFailed || s == RunDone }

// JobStatus is one job submission's state.
type JobStatus string

// Job statuses (upstream wire values).
const (
	JobSubmitted    JobStatus = "submitted"
	JobProvisioning JobStatus = "provisioning"
	JobPulling      JobStatus = "pulling"
	JobRunning      JobStatus = "running"
	JobTerminating  JobStatus = "terminating"
	JobTerminated   JobStatus = "terminated"
	JobAborted      JobStatus = "aborted"
	JobFailed       JobStatus = "failed"
	JobDone         JobStatus = "done"
)

// Finished reports whether the submission is over.
func (s JobStatus) Finished() bool {
	return s == JobTerminated || s == JobAborted || s == JobFailed || s == JobDone
}

// RunTerminationReason says why a run ended.
type RunTerminationReason string

// Run termination reasons.
const (
	RunAllJobsDone        RunTerminationReason = "all_jobs_done"
	RunJobFailed          RunTerminationReason = "job_failed"
	RunRetryLimitExceeded RunTerminationReason = "retry_limit_exceeded"
	RunStoppedByUser      RunTerminationReason = "stopped_by_user"
	RunAbortedByUser      RunTerminationReason = "aborted_by_user"
	RunServerError        RunTerminationReason = "server_error"
	RunGatewayError       RunTerminationReason = "gateway_error"
)

// Status is the final run status of a termination reason.
func (r RunTerminationReason) Status() RunStatus {
	switch r {
	case RunAllJobsDone:
		return RunDone
	case RunStoppedByUser, RunAbortedByUser:
		return RunTerminated
	default:
		return RunFailed
	}
}

// JobReason is the job termination reason a run's reason imposes on its active jobs.
func (r RunTerminationReason) JobReason() JobTerminationReason {
	switch r {
	case RunAllJobsDone:
		return JobDoneByRunner
	case RunStoppedByUser:
		return JobTerminatedByUser
	case RunAbortedByUser:
		return JobAbortedByUser
	default:
		return JobTerminatedByServer
	}
}

// JobTerminationReason says why a job submission ended.
type JobTerminationReason string

// Job termination reasons (upstream wire values).
const (
	JobFailedToStartNoCapacity  JobTerminationReason = "failed_to_start_due_to_no_capacity"
	JobInterruptedByNoCapacity  JobTerminationReason = "interrupted_by_no_capacity"
	JobInstanceUnreachable      JobTerminationReason = "instance_unreachable"
	JobWaitingInstanceLimit     JobTerminationReason = "waiting_instance_limit_exceeded"
	JobWaitingRunnerLimit       JobTerminationReason = "waiting_runner_limit_exceeded"
	JobTerminatedByUser         JobTerminationReason = "terminated_by_user"
	JobVolumeError              JobTerminationReason = "volume_error"
	JobGatewayError             JobTerminationReason = "gateway_error"
	JobScaledDown               JobTerminationReason = "scaled_down"
	JobDoneByRunner             JobTerminationReason = "done_by_runner"
	JobAbortedByUser            JobTerminationReason = "aborted_by_user"
	JobTerminatedByServer       JobTerminationReason = "terminated_by_server"
	JobInactivityExceeded       JobTerminationReason = "inactivity_duration_exceeded"
	JobUtilizationPolicy        JobTerminationReason = "terminated_due_to_utilization_policy"
	JobContainerExitedWithError JobTerminationReason = "container_exited_with_error"
	JobPortsBindingFailed       JobTerminationReason = "ports_binding_failed"
	JobCreatingContainerError   JobTerminationReason = "creating_container_error"
	JobExecutorError            JobTerminationReason = "executor_error"
	JobMaxDurationExceeded      JobTerminationReason = "max_duration_exceeded"
	JobLogQuotaExceeded         JobTerminationReason = "log_quota_exceeded"
	JobInstanceAccessRevoked    JobTerminationReason = "instance_access_revoked"
)

// Status is the final job status of a reason.
func (r JobTerminationReason) Status() JobStatus {
	switch r {
	case JobTerminatedByUser, JobTerminatedByServer, JobScaledDown, JobInactivityExceeded,
		JobUtilizationPolicy, JobMaxDurationExceeded:
		return JobTerminated
	case JobDoneByRunner:
		return JobDone
	case JobAbortedByUser:
		return JobAborted
	default:
		return JobFailed
	}
}

// RetryEvent is the retry event a failure counts as, empty when the
// failure is not retryable.
func (r JobTerminationReason) RetryEvent() RetryEvent {
	switch r {
	case JobFailedToStartNoCapacity:
		return "no-capacity"
	case JobInterruptedByNoCapacity:
		return "interruption"
	}
	if r.Status() == JobFailed {
		return "error"
	}
	return ""
}
