package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/server/schemas"
)

func jobPath(st ...schemas.JobStatus) []schemas.JobStatus { return st }

func TestDecideRunningJob(t *testing.T) {
	now := t0.Add(time.Hour)
	recently, long := now.Add(-time.Minute), now.Add(-3*time.Minute)
	job := func(st schemas.JobStatus, disconnectedAt *time.Time) RunningJob {
		return RunningJob{Status: st, DisconnectedAt: disconnectedAt, UnreachableAfter: 2 * time.Minute}
	}
	state := func(s agent.JobState, reason, msg string, exit *int) *agent.JobStateEvent {
		return &agent.JobStateEvent{State: s, TerminationReason: reason, TerminationMessage: msg, ExitStatus: exit}
	}
	tests := []struct {
		name string
		job  RunningJob
		rep  AgentReport
		want JobDecision
	}{
		{"nothing new", job(schemas.JobRunning, nil), AgentReport{}, JobDecision{}},
		{"the shim took the task", job(schemas.JobProvisioning, nil), AgentReport{Reached: schemas.JobPulling},
			JobDecision{Path: jobPath(schemas.JobPulling)}},
		{"from provisioning to running in one pass", job(schemas.JobProvisioning, nil),
			AgentReport{Reached: schemas.JobRunning, Task: &agent.TaskInfoResponse{Status: agent.TaskStatusRunning}},
			JobDecision{Path: jobPath(schemas.JobPulling, schemas.JobRunning)}},
		{"the container is still being created", job(schemas.JobPulling, nil),
			AgentReport{Task: &agent.TaskInfoResponse{Status: agent.TaskStatusPulling}}, JobDecision{}},
		{"the task ended before the runner started", job(schemas.JobPulling, nil),
			AgentReport{Task: &agent.TaskInfoResponse{Status: agent.TaskStatusTerminated,
				TerminationReason: "EXECUTOR_ERROR", TerminationMessage: "no such image"}},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobExecutorError,
				Message: "no such image"}},
		{"a task ended without a reason", job(schemas.JobPulling, nil),
			AgentReport{Task: &agent.TaskInfoResponse{Status: agent.TaskStatusTerminated}},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobCreatingContainerError}},
		{"the runner is done", job(schemas.JobRunning, nil),
			AgentReport{Runner: state(agent.JobStateDone, "", "", ptr(0))},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobDoneByRunner, ExitStatus: ptr(0)}},
		{"a short job is done in the pass that started it", job(schemas.JobPulling, nil),
			AgentReport{Reached: schemas.JobRunning, Runner: state(agent.JobStateDone, "", "", ptr(0))},
			JobDecision{Path: jobPath(schemas.JobRunning, schemas.JobTerminating), TerminationReason: schemas.JobDoneByRunner,
				ExitStatus: ptr(0)}},
		{"the job failed", job(schemas.JobRunning, nil),
			AgentReport{Runner: state(agent.JobStateFailed, "", "", ptr(3))},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobContainerExitedWithError,
				ExitStatus: ptr(3)}},
		{"the runner's reason wins", job(schemas.JobRunning, nil),
			AgentReport{Runner: state(agent.JobStateTerminated, "max_duration_exceeded", "2h passed", nil)},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobMaxDurationExceeded,
				Message: "2h passed"}},
		{"a running state only updates the exit status", job(schemas.JobRunning, nil),
			AgentReport{Runner: state(agent.JobStateRunning, "", "", nil)}, JobDecision{}},
		{"a host that stops answering is marked", job(schemas.JobRunning, nil), AgentReport{Unreachable: "ssh: timeout"},
			JobDecision{DisconnectedAt: &now}},
		{"the mark stays while the host is away", job(schemas.JobRunning, &recently), AgentReport{Unreachable: "ssh: timeout"},
			JobDecision{DisconnectedAt: &recently}},
		{"a host away too long fails the job", job(schemas.JobRunning, &long), AgentReport{Unreachable: "ssh: timeout"},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobInstanceUnreachable,
				Message: "ssh: timeout", DisconnectedAt: &long}},
		{"an answer clears the mark", job(schemas.JobPulling, &long),
			AgentReport{Task: &agent.TaskInfoResponse{Status: agent.TaskStatusPulling}}, JobDecision{}},
		{"progress before the host went away is kept", job(schemas.JobProvisioning, nil),
			AgentReport{Reached: schemas.JobPulling, Unreachable: "runner does not answer"},
			JobDecision{Path: jobPath(schemas.JobPulling), DisconnectedAt: &now}},
		{"a job that cannot be started stops", job(schemas.JobPulling, &recently),
			AgentReport{Broken: "secret token is not set in this project"},
			JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobTerminatedByServer,
				Message: "secret token is not set in this project", DisconnectedAt: &recently}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideRunningJob(tt.job, tt.rep, now)
			require.Equal(t, tt.want, d)
			from := tt.job.Status
			for _, to := range d.Path {
				require.True(t, CanTransitionJob(from, to), "%s → %s", from, to)
				from = to
			}
		})
	}
}

func TestDecideJobTermination(t *testing.T) {
	bridge := &schemas.JobRuntimeData{NetworkMode: networkBridge, Ports: map[string]int{"10999": 32001},
		Offer: &schemas.InstanceOffer{Blocks: 2, TotalBlocks: 8}}
	host := &schemas.JobRuntimeData{NetworkMode: networkHost, Offer: &schemas.InstanceOffer{Blocks: 0, TotalBlocks: 1}}
	notStarted := &schemas.JobRuntimeData{NetworkMode: networkBridge, Offer: &schemas.InstanceOffer{Blocks: 1, TotalBlocks: 1}}
	tests := []struct {
		name string
		job  TerminatingJob
		want JobTerminationPlan
	}{
		{"never placed", TerminatingJob{Reason: schemas.JobTerminatedByUser},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated}},
		{"no reason recorded", TerminatingJob{},
			JobTerminationPlan{Reason: schemas.JobTerminatedByServer, Status: schemas.JobTerminated}},
		{"no capacity fails", TerminatingJob{Reason: schemas.JobFailedToStartNoCapacity},
			JobTerminationPlan{Reason: schemas.JobFailedToStartNoCapacity, Status: schemas.JobFailed}},
		{"a graceful stop", TerminatingJob{Reason: schemas.JobTerminatedByUser, OnInstance: true, Runtime: bridge},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated, StopOnHost: true,
				StopRunner: true, PullLast: true, Timeout: 10, ReleaseBlocks: 2}},
		{"stop_duration is granted", TerminatingJob{Reason: schemas.JobTerminatedByUser, OnInstance: true, Runtime: bridge,
			StopDuration: ptr(60)},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated, StopOnHost: true,
				StopRunner: true, PullLast: true, Timeout: 60, ReleaseBlocks: 2}},
		{"at most 300 s", TerminatingJob{Reason: schemas.JobTerminatedByUser, OnInstance: true, Runtime: bridge,
			StopDuration: ptr(3600)},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated, StopOnHost: true,
				StopRunner: true, PullLast: true, Timeout: 300, ReleaseBlocks: 2}},
		{"an abort kills at once", TerminatingJob{Reason: schemas.JobAbortedByUser, OnInstance: true, Runtime: bridge,
			StopDuration: ptr(60)},
			JobTerminationPlan{Reason: schemas.JobAbortedByUser, Status: schemas.JobAborted, StopOnHost: true,
				PullLast: true, ReleaseBlocks: 2}},
		{"a done job is removed at once, its last logs collected", TerminatingJob{Reason: schemas.JobDoneByRunner,
			OnInstance: true, Runtime: host},
			JobTerminationPlan{Reason: schemas.JobDoneByRunner, Status: schemas.JobDone, StopOnHost: true,
				PullLast: true, ReleaseBlocks: 1}},
		{"a runner never started is not asked", TerminatingJob{Reason: schemas.JobTerminatedByUser, OnInstance: true,
			Runtime: notStarted},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated, StopOnHost: true,
				Timeout: 10, ReleaseBlocks: 1}},
		{"runtime data without an instance", TerminatingJob{Reason: schemas.JobTerminatedByUser, Runtime: bridge},
			JobTerminationPlan{Reason: schemas.JobTerminatedByUser, Status: schemas.JobTerminated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, DecideJobTermination(tt.job))
			require.True(t, CanTransitionJob(schemas.JobTerminating, tt.want.Status))
		})
	}
}

func TestDecideHost(t *testing.T) {
	now := t0.Add(time.Hour)
	host := func(st schemas.InstanceStatus, age time.Duration) Host {
		return Host{Status: st, CreatedAt: now.Add(-age), DeployTimeout: 20 * time.Minute}
	}
	tests := []struct {
		name string
		host Host
		rep  HostReport
		want HostDecision
	}{
		{"deployed", host(schemas.InstancePending, time.Minute), HostReport{}, HostDecision{Status: schemas.InstanceIdle}},
		{"deploy failed, tried again later", host(schemas.InstancePending, time.Minute), HostReport{DeployErr: "refused"},
			HostDecision{StatusMessage: "refused"}},
		{"deploy failing for too long", host(schemas.InstancePending, 21*time.Minute), HostReport{DeployErr: "refused"},
			HostDecision{Status: schemas.InstanceTerminated, StatusMessage: "refused", TerminationReason: "provisioning_timeout",
				TerminationMessage: "the host could not be set up within 20m0s: refused"}},
		{"a host that does not fit", host(schemas.InstancePending, time.Minute), HostReport{BadHost: "blocks: 3 does not divide 8 GPUs"},
			HostDecision{Status: schemas.InstanceTerminated, StatusMessage: "blocks: 3 does not divide 8 GPUs",
				TerminationReason: "error", TerminationMessage: "blocks: 3 does not divide 8 GPUs"}},
		{"healthy", host(schemas.InstanceIdle, time.Hour), HostReport{}, HostDecision{}},
		{"unreachable", host(schemas.InstanceBusy, time.Hour), HostReport{CheckErr: "cut off"},
			HostDecision{StatusMessage: "cut off", Unreachable: true}},
		{"cleaned up", host(schemas.InstanceTerminating, time.Hour), HostReport{},
			HostDecision{Status: schemas.InstanceTerminated, Deleted: true}},
		{"connection settings unusable", host(schemas.InstancePending, time.Hour), HostReport{Unusable: "cannot decrypt"},
			HostDecision{StatusMessage: "cannot decrypt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideHost(tt.host, tt.rep, now)
			require.Equal(t, tt.want, d)
			if d.Status != "" {
				require.True(t, CanTransitionInstance(tt.host.Status, d.Status))
			}
		})
	}
}

func TestFleetDone(t *testing.T) {
	require.True(t, FleetDone(nil))
	require.True(t, FleetDone([]schemas.InstanceStatus{schemas.InstanceTerminated, schemas.InstanceTerminated}))
	require.False(t, FleetDone([]schemas.InstanceStatus{schemas.InstanceTerminated, schemas.InstanceTerminating}))
}

func TestAwaitLaunch(t *testing.T) {
	stop := func(msg string) JobDecision {
		return JobDecision{Path: jobPath(schemas.JobTerminating), TerminationReason: schemas.JobFailedToStartNoCapacity, Message: msg}
	}
	tests := []struct {
		name  string
		in    LaunchingInstance
		want  JobDecision
		ready bool
	}{
		{"being launched", LaunchingInstance{Status: schemas.InstancePending}, JobDecision{}, false},
		{"launched, the agent not up yet", LaunchingInstance{Status: schemas.InstanceProvisioning, Provisioned: true}, JobDecision{}, false},
		{"up", LaunchingInstance{Status: schemas.InstanceBusy, Provisioned: true}, JobDecision{}, true},
		{"up, provisioning data not stored yet", LaunchingInstance{Status: schemas.InstanceBusy}, JobDecision{}, false},
		{"no offer launched", LaunchingInstance{Status: schemas.InstanceTerminated, TerminationMessage: "no offers: 3 tried"},
			stop("no offers: 3 tried"), false},
		{"timed out, no reason", LaunchingInstance{Status: schemas.InstanceTerminating},
			stop("The instance launched for the job ended before it was ready"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ready := AwaitLaunch(tt.in)
			require.Equal(t, tt.want, d)
			require.Equal(t, tt.ready, ready)
		})
	}
}
