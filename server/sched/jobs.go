package sched

import (
	"strings"
	"time"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/server/schemas"
)

// RunningJob is a placed job (provisioning, pulling or running) as the running-jobs pipeline
// loaded it.
type RunningJob struct {
	Status schemas.JobStatus
	// DisconnectedAt is since when the job's host has not answered; nil while it does.
	DisconnectedAt *time.Time
	// UnreachableAfter is how long the host may not answer before the job fails with
	// instance_unreachable.
	UnreachableAfter time.Duration
}

// AgentReport is what one pass of the running-jobs pipeline saw of a job on its host. The
// pipeline takes the job as far as the agents let it: the shim gets the task
// (provisioning → pulling), the runner gets the job once the task's container runs
// (pulling → running), and the runner's states and logs are pulled (running).
type AgentReport struct {
	// Broken says why the job cannot be started from what is stored (its data cannot be
	// read, a secret it refers to is gone); "" when nothing is wrong with it.
	Broken string
	// Reached is the furthest status the agents took the job to in this pass: pulling once
	// the shim accepted its task, running once the runner started it; "" when neither.
	Reached schemas.JobStatus
	// Task is the shim's task when it was read in this pass, nil otherwise.
	Task *agent.TaskInfoResponse
	// Runner is the last state the runner reported in this pass (nil when none). Its exit
	// status is the last one reported in the pass.
	Runner *agent.JobStateEvent
	// Unreachable says why the host or an agent did not answer ("" when every call
	// answered).
	Unreachable string
}

// JobDecision is what happens to a job after a pass of the running-jobs pipeline.
type JobDecision struct {
	// Path lists the statuses the job takes in this pass, in order, each one a step
	// CanTransitionJob allows; it is empty when the job keeps its status.
	Path []schemas.JobStatus
	// TerminationReason and Message are set when the path ends in terminating.
	TerminationReason schemas.JobTerminationReason
	Message           string
	// ExitStatus is the exit status the runner reported (nil: unchanged).
	ExitStatus *int
	// DisconnectedAt is the job's new disconnected_at: nil when its host answered.
	DisconnectedAt *time.Time
}

// placedOrder is the order of the statuses of a placed job that the agents move it through.
var placedOrder = []schemas.JobStatus{schemas.JobProvisioning, schemas.JobPulling, schemas.JobRunning}

// DecideRunningJob turns what the agents reported into the job's next statuses:
//   - a job whose stored data cannot be used stops (terminated_by_server, with why);
//   - the job advances to the status the agents took it to;
//   - a task the shim ended before the runner started stops the job with the shim's reason
//     (creating_container_error when it gives none);
//   - a runner state done stops the job with done_by_runner; failed or terminated with the
//     runner's reason (container_exited_with_error when it gives none);
//   - a host that did not answer marks the job disconnected; after UnreachableAfter without
//     an answer the job stops with instance_unreachable. An answer clears the mark.
func DecideRunningJob(job RunningJob, rep AgentReport, now time.Time) JobDecision {
	d := JobDecision{}
	if rep.Broken != "" {
		d.DisconnectedAt = job.DisconnectedAt
		return d.terminate(schemas.JobTerminatedByServer, rep.Broken)
	}
	if rep.Reached != "" {
		at, to := indexOf(placedOrder, job.Status), indexOf(placedOrder, rep.Reached)
		if at >= 0 && to > at {
			d.Path = append(d.Path, placedOrder[at+1:to+1]...)
		}
	}
	if t := rep.Task; t != nil && t.Status == agent.TaskStatusTerminated {
		reason := schemas.JobTerminationReason(strings.ToLower(t.TerminationReason))
		if reason == "" {
			reason = schemas.JobCreatingContainerError
		}
		d = d.terminate(reason, t.TerminationMessage)
	}
	if s := rep.Runner; s != nil {
		d.ExitStatus = s.ExitStatus
		switch s.State {
		case agent.JobStateDone:
			d = d.terminate(schemas.JobDoneByRunner, "")
		case agent.JobStateFailed, agent.JobStateTerminated:
			reason := schemas.JobTerminationReason(s.TerminationReason)
			if reason == "" {
				reason = schemas.JobContainerExitedWithError
			}
			d = d.terminate(reason, s.TerminationMessage)
		}
	}
	if rep.Unreachable == "" {
		return d
	}
	d.DisconnectedAt = job.DisconnectedAt
	if d.DisconnectedAt == nil {
		d.DisconnectedAt = &now
	}
	if now.Sub(*d.DisconnectedAt) > job.UnreachableAfter && !d.terminating() {
		d = d.terminate(schemas.JobInstanceUnreachable, rep.Unreachable)
	}
	return d
}

// LaunchingInstance is the cloud instance launched for a placed job, as the running-jobs
// pipeline loaded it.
type LaunchingInstance struct {
	Status schemas.InstanceStatus
	// TerminationMessage says why the instance ended ("" when it did not, or gave no reason).
	TerminationMessage string
	// Provisioned says its provisioning data and offer are stored: the job can be given them.
	Provisioned bool
}

// AwaitLaunch decides for a job placed on a cloud instance still being launched for it.
// The job goes on (ready) once the instance is up and provisioned. It waits, keeping its
// status, while the instance is pending or provisioning. When the instance ended before it
// was ready, the job stops with failed_to_start_due_to_no_capacity and the instance's reason.
func AwaitLaunch(in LaunchingInstance) (d JobDecision, ready bool) {
	switch in.Status {
	case schemas.InstancePending, schemas.InstanceProvisioning:
		return d, false
	case schemas.InstanceTerminating, schemas.InstanceTerminated:
		msg := in.TerminationMessage
		if msg == "" {
			msg = "The instance launched for the job ended before it was ready"
		}
		return d.terminate(schemas.JobFailedToStartNoCapacity, msg), false
	}
	return d, in.Provisioned
}

func (d JobDecision) terminating() bool {
	return len(d.Path) > 0 && d.Path[len(d.Path)-1] == schemas.JobTerminating
}

func (d JobDecision) terminate(reason schemas.JobTerminationReason, msg string) JobDecision {
	if !d.terminating() {
		d.Path = append(d.Path, schemas.JobTerminating)
	}
	d.TerminationReason, d.Message = reason, msg
	return d
}

func indexOf[S comparable](list []S, v S) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

// TerminatingJob is a terminating job as the terminating-jobs pipeline loaded it.
type TerminatingJob struct {
	Reason schemas.JobTerminationReason // "" when none was recorded
	// OnInstance is true while the job holds an instance.
	OnInstance bool
	// Runtime is the job's runtime data (nil when it has none): its ports, network mode and
	// the blocks it holds.
	Runtime *schemas.JobRuntimeData
	// StopDuration is the job spec's stop_duration in seconds (nil when unset).
	StopDuration *int
}

// JobTerminationPlan is how the terminating-jobs pipeline ends a job.
type JobTerminationPlan struct {
	// Reason is the job's termination reason: terminated_by_server when it had none.
	Reason schemas.JobTerminationReason
	// Status is the job's final status, the one its reason gives.
	Status schemas.JobStatus
	// StopOnHost asks the shim to stop and remove the job's task.
	StopOnHost bool
	// StopRunner first asks the runner to stop the job and gives it a few seconds.
	StopRunner bool
	// PullLast collects the runner's last logs and exit status before the task goes.
	PullLast bool
	// Timeout is how many seconds the shim grants the container to stop.
	Timeout int
	// ReleaseBlocks is how many of the instance's blocks the job gives back.
	ReleaseBlocks int
}

// Stop timing of terminating jobs.
const (
	defaultStopTimeout = 10  // seconds, when the job spec sets no stop_duration
	maxStopTimeout     = 300 // seconds, the most a stop_duration is granted
)

// DecideJobTermination plans the end of a terminating job. A job on an instance with runtime
// data is stopped there: gracefully (the runner is asked first, the container gets the
// job's stop_duration, 10 s by default, at most 300 s) unless the user aborted it or it is
// done already, in which case the container is killed at once. The runner's last logs are
// collected when the runner can be reached (its port is mapped, or the job uses the host's
// network). The job's blocks (at least one) go back to the instance.
func DecideJobTermination(j TerminatingJob) JobTerminationPlan {
	p := JobTerminationPlan{Reason: j.Reason}
	if p.Reason == "" {
		p.Reason = schemas.JobTerminatedByServer
	}
	p.Status = p.Reason.Status()
	if !j.OnInstance || j.Runtime == nil {
		return p
	}
	graceful := p.Reason != schemas.JobAbortedByUser && p.Reason != schemas.JobDoneByRunner
	reachable := j.Runtime.Ports != nil || j.Runtime.NetworkMode == networkHost
	p.StopOnHost, p.PullLast, p.StopRunner = true, reachable, reachable && graceful
	switch {
	case !graceful:
		p.Timeout = 0
	case j.StopDuration != nil:
		p.Timeout = max(min(*j.StopDuration, maxStopTimeout), 0)
	default:
		p.Timeout = defaultStopTimeout
	}
	if j.Runtime.Offer != nil {
		p.ReleaseBlocks = max(j.Runtime.Offer.Blocks, 1)
	}
	return p
}
