package sched

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestPlanCapacity(t *testing.T) {
	cheap := cloud("aws", "us-east-1", "t3.large", 0.08, 2, 8, "", 0, false)
	dear := cloud("aws", "us-east-1", "c5.4xlarge", 0.68, 16, 32, "", 0, false)
	two := 2
	fleets := []CloudFleet{
		{FleetID: "f1", FleetName: "big", Offers: []schemas.InstanceOffer{dear}},
		{FleetID: "f2", FleetName: "small", Offers: []schemas.InstanceOffer{cheap, dear}},
		{FleetID: "f3", FleetName: "full", Active: 2, Max: &two, Offers: []schemas.InstanceOffer{cheap}},
		{FleetID: "f4", FleetName: "cluster", Cluster: true, Offers: []schemas.InstanceOffer{dear}},
	}
	multi := job("j", "r", cpuReq())
	multi.Requirements.Multinode = ptr(true)
	named := job("j", "r", cpuReq())
	named.Profile.Fleets = []schemas.EntityReference{{Name: "full"}}
	inRun := job("j", "r", cpuReq())
	inRun.RunFleetID = "f1"
	tests := []struct {
		name   string
		job    JobReq
		fleets []CloudFleet
		want   string
		reason string
	}{
		{name: "cheapest fleet", job: job("j", "r", cpuReq()), fleets: fleets, want: "f2"},
		{name: "multi-node jobs go to cluster fleets", job: multi, fleets: fleets, want: "f4"},
		{name: "the run's fleet", job: inRun, fleets: fleets, want: "f1"},
		{name: "a named fleet at its maximum", job: named, fleets: fleets, reason: "at its `nodes` maximum"},
		{name: "no cloud fleet", job: job("j", "r", cpuReq()), reason: msgNoMatchingFleet},
		{name: "no offers", job: job("j", "r", cpuReq()), fleets: []CloudFleet{{FleetID: "f", FleetName: "f"}},
			reason: `No offers matching the run requirements in fleet "f".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanCapacity(tt.job, tt.fleets)
			require.Equal(t, tt.want, p.FleetID)
			if tt.reason != "" {
				require.Contains(t, p.Reason, tt.reason)
			}
		})
	}
}

func TestLaunchFailure(t *testing.T) {
	errs := []OfferError{
		{Instance: "t3.large", Backend: "aws", Region: "us-east-1", Error: "InsufficientInstanceCapacity: no t3.large"},
		{Instance: "c5.4xlarge", Backend: "aws", Region: "us-east-1", Error: "VcpuLimitExceeded: limit 0"},
	}
	require.Equal(t, "Failed to provision in fleet \"f\": tried 2 of 2 offers, all failed.\n"+
		"Errors: t3.large in aws/us-east-1: InsufficientInstanceCapacity: no t3.large; c5.4xlarge in aws/us-east-1: VcpuLimitExceeded: limit 0.\n"+
		"See "+provisioningTroubleshooting, LaunchFailure("f", 2, 2, errs))
	require.True(t, strings.HasPrefix(LaunchFailure("f", 30, 25, nil), `Failed to provision in fleet "f": tried 25 of 30 offers (attempt limit reached)`))
	require.True(t, strings.HasPrefix(LaunchFailure("f", 0, 0, nil), `No offers matching the run requirements in fleet "f".`))
}

func TestDecideCloudInstance(t *testing.T) {
	running := t0.Add(time.Minute)
	in := CloudInstance{Status: schemas.InstanceProvisioning, CreatedAt: t0, ProvisioningTimeout: 10 * time.Minute,
		AgentGrace: 2 * time.Minute, RunningSince: &running}
	tests := []struct {
		name string
		in   CloudInstance
		rep  CloudReport
		now  time.Time
		want CloudDecision
	}{
		{name: "agent answers", in: in, rep: CloudReport{VM: "running", SSH: true, Agent: true}, now: t0.Add(2 * time.Minute),
			want: CloudDecision{Status: schemas.InstanceIdle}},
		{name: "agent answers, a job waits", in: func() CloudInstance { c := in; c.BusyBlocks = 1; return c }(),
			rep: CloudReport{VM: "running", SSH: true, Agent: true}, now: t0.Add(2 * time.Minute), want: CloudDecision{Status: schemas.InstanceBusy}},
		{name: "still booting", in: in, rep: CloudReport{VM: "pending", Err: "no address yet"}, now: t0.Add(time.Minute),
			want: CloudDecision{StatusMessage: "no address yet"}},
		{name: "user data did not start the agent", in: in, rep: CloudReport{VM: "running", SSH: true, Err: "shim down"},
			now: t0.Add(4 * time.Minute), want: CloudDecision{Deploy: true, StatusMessage: "the agent did not start from user data; uploading it over SSH"}},
		{name: "uploaded already", in: func() CloudInstance { c := in; c.Deployed = true; return c }(),
			rep: CloudReport{VM: "running", SSH: true, Err: "shim down"}, now: t0.Add(4 * time.Minute), want: CloudDecision{StatusMessage: "shim down"}},
		{name: "never reachable", in: in, rep: CloudReport{VM: "running", Err: "connection timed out"}, now: t0.Add(11 * time.Minute),
			want: CloudDecision{Status: schemas.InstanceTerminating, TerminationReason: reasonProvisioningTimeout,
				TerminationMessage: "The instance did not become ready within 10m0s: connection timed out",
				StatusMessage:      "The instance did not become ready within 10m0s: connection timed out"}},
		{name: "gone", in: in, rep: CloudReport{VM: "gone", Detail: "terminated"}, now: t0.Add(time.Minute),
			want: CloudDecision{Status: schemas.InstanceTerminated, TerminationReason: ReasonError,
				TerminationMessage: "The instance is gone from the cloud before it became ready (state: terminated)",
				StatusMessage:      "The instance is gone from the cloud before it became ready (state: terminated)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, DecideCloudInstance(tt.in, tt.rep, tt.now))
		})
	}
}

func TestIdleRelease(t *testing.T) {
	ok, msg := IdleRelease(t0, 60, 2, 0, t0.Add(90*time.Second))
	require.True(t, ok)
	require.Equal(t, "Instance idle for 90s", msg)
	ok, _ = IdleRelease(t0, 60, 1, 1, t0.Add(time.Hour))
	require.False(t, ok, "at nodes.min")
	ok, _ = IdleRelease(t0, -1, 2, 0, t0.Add(time.Hour))
	require.False(t, ok, "idle_duration: off")
	ok, _ = IdleRelease(t0, 60, 2, 0, t0.Add(30*time.Second))
	require.False(t, ok)
}

func TestRelaunchWait(t *testing.T) {
	failed := func(ago time.Duration) EndedInstance { return EndedInstance{FinishedAt: t0.Add(-ago), Failed: true} }
	tests := []struct {
		name  string
		ended []EndedInstance
		want  time.Duration
	}{
		{name: "nothing ended", want: 0},
		{name: "released instances are no reason to wait", ended: []EndedInstance{{FinishedAt: t0}}, want: 0},
		{name: "one failure: the base wait", ended: []EndedInstance{failed(10 * time.Second)}, want: 20 * time.Second},
		{name: "one failure long ago", ended: []EndedInstance{failed(time.Hour)}, want: 0},
		{name: "three failures: four times the base, from the latest",
			ended: []EndedInstance{failed(5 * time.Minute), failed(time.Minute), failed(3 * time.Minute)}, want: time.Minute},
		{name: "an instance that served resets the count",
			ended: []EndedInstance{failed(time.Hour), failed(50 * time.Minute), {FinishedAt: t0.Add(-40 * time.Minute)},
				failed(10 * time.Second)}, want: 20 * time.Second},
		{name: "many failures: the maximum", ended: func() []EndedInstance {
			var out []EndedInstance
			for i := range 40 {
				out = append(out, failed(time.Duration(i)*time.Second))
			}
			return out
		}(), want: relaunchBackoffMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, RelaunchWait(tt.ended, t0))
		})
	}
}

func TestStrays(t *testing.T) {
	vms := []TaggedVM{{VMID: "i-1", Row: "a"}, {VMID: "i-2", Row: "b"}, {VMID: "i-3", Row: "c"}, {VMID: "i-4", Row: "d"},
		{VMID: "i-5", Row: "e"}, {VMID: "i-6", Row: "f"}}
	rows := map[string]InstanceRow{
		"a": {Live: true, VMID: "i-1"},  // its own VM
		"b": {Live: false, VMID: "i-2"}, // ended row
		"c": {Live: true, VMID: "i-9"},  // launched another VM
		"d": {Live: true},               // crash mid-launch
		"e": {Live: true, Leased: true}, // launching right now
	} // f: unknown row
	require.Equal(t, []string{"i-2", "i-3", "i-4", "i-6"}, Strays(vms, rows))
}

func TestFleetConstraint(t *testing.T) {
	decode := func(js string) schemas.FleetSpec {
		var spec schemas.FleetSpec
		require.NoError(t, json.Unmarshal([]byte(js), &spec))
		return spec
	}
	t.Run("defaults", func(t *testing.T) {
		c := FleetConstraint(decode(`{"configuration": {"type": "fleet", "name": "f", "nodes": 1}, "profile": {"name": "default"}}`))
		require.Equal(t, schemas.DefaultResourcesSpec(), c.Requirements.Resources, "a fleet without resources allows the defaults")
		require.Equal(t, schemas.SpotPolicyOnDemand, *c.Profile.SpotPolicy, "on-demand unless the fleet says otherwise")
		require.Nil(t, c.Requirements.MaxPrice)
		require.Nil(t, c.Requirements.Reservation)
	})
	t.Run("the fleet's own limits", func(t *testing.T) {
		c := FleetConstraint(decode(`{"configuration": {"type": "fleet", "name": "f", "nodes": 1, "resources": {"gpu": "A100:8"},
			"spot_policy": "spot", "max_price": 2.5, "reservation": "cr-1", "backends": ["aws"], "regions": ["us-east-1"],
			"instance_types": ["p4d.24xlarge"]}, "profile": {"name": "default"}}`))
		require.Equal(t, 8, *c.Requirements.Resources.GPU.Count.Min)
		require.Equal(t, schemas.SpotPolicySpot, *c.Profile.SpotPolicy)
		require.Equal(t, 2.5, *c.Requirements.MaxPrice)
		require.Equal(t, "cr-1", *c.Requirements.Reservation)
		require.Equal(t, []string{"us-east-1"}, c.Profile.Regions)
		require.Equal(t, []string{"p4d.24xlarge"}, c.Profile.InstanceTypes)
		require.Len(t, c.Profile.Backends, 1)
	})
}

func TestNodesToAdd(t *testing.T) {
	require.Equal(t, 2, NodesToAdd(2, 0), "up to nodes.min")
	require.Equal(t, 1, NodesToAdd(3, 2))
	require.Equal(t, 0, NodesToAdd(1, 1))
	require.Equal(t, 0, NodesToAdd(1, 4), "never below zero above the minimum")
}
