package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// TestCloudFleetRunsATaskOnALaunchedVM runs a task on a cloud fleet with
// nodes: 0..1: the run provisions an instance in moto (the cheapest offer
// has no capacity, the next no quota, the third launches), the emulated VM
// at the instance's private IP runs its user data, which downloads the
// agent from the server; the task runs there, then the idle instance is
// released and its VM terminated.
func TestCloudFleetRunsATaskOnALaunchedVM(t *testing.T) {
	sshtest.Require(t)
	moto := mototest.Start(t)
	proxy := mototest.NewProxy(t, moto, "")
	proxy.Fail(mototest.Fault{Action: "RunInstances", Param: "InstanceType", Value: "t3.large", Code: "InsufficientInstanceCapacity",
		Message: "We currently do not have sufficient t3.large capacity in the Availability Zone you requested."})
	proxy.Fail(mototest.Fault{Action: "RunInstances", Param: "InstanceType", Value: "c5.2xlarge", Code: "VcpuLimitExceeded",
		Message: "You have requested more vCPU capacity than your current vCPU limit of 2 allows."})
	subnet := sshtest.ReserveSubnet(t)
	user := sshtest.NewUser(t)
	ec2c := mototest.EC2(t, moto, "us-east-1")
	vpc, _ := mototest.Network(t, ec2c, subnet.CIDR)
	mototest.Image(t, ec2c, "vm-image")
	vms := mototest.StartVMs(t, ec2c, subnet, user, nil)

	dir := t.TempDir()
	conf := fmt.Sprintf("projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: access_key, access_key: AKIAOK, secret_key: x}\n"+
		"    regions: [us-east-1]\n    vpc_ids: {us-east-1: %s}\n    public_ips: false\n"+
		"    os_images: {cpu: {name: vm-image, user: %s}}\n", vpc, user)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(conf), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Options{Dir: dir, Host: subnet.Gateway, Port: servertest.FreePort(t), AdminToken: servertest.AdminToken,
		AWSEndpoint: proxy.URL, AgentBinary: servertest.Binary(t), JobNetworkMode: 2, InstanceProvisioningTimeout: 3 * time.Minute})
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s := &testServer{Client: client.New(srv.URL(), servertest.AdminToken)}

	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(`{"configuration": {"type": "fleet", "name": "cloud", "nodes": "0..1", "idle_duration": "5s"},
		"profile": {"name": "default"}}`), &spec))
	var plan schemas.FleetPlan
	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan))
	require.NotEmpty(t, plan.Offers, "the plan shows the AWS offers")
	require.Equal(t, "t3.large", plan.Offers[0].Instance.Name, "cheapest first")

	// With a capacity reservation, the plan offers only the reserved type,
	// on demand, in the reservation's zone.
	proxy.Reserve(mototest.CapacityReservation{ID: "cr-0aaaaaaaaaaaaaaaa", Region: "us-east-1", InstanceType: "c5.4xlarge",
		Zone: "us-east-1c", Available: 1})
	var reserved schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(`{"configuration": {"type": "fleet", "name": "reserved", "nodes": 1,
		"reservation": "cr-0aaaaaaaaaaaaaaaa"}, "profile": {"name": "default"}}`), &reserved))
	var rplan schemas.FleetPlan
	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: reserved}, &rplan))
	require.Len(t, rplan.Offers, 1, "%+v", rplan.Offers)
	require.Equal(t, "c5.4xlarge", rplan.Offers[0].Instance.Name)
	require.False(t, rplan.Offers[0].Instance.Resources.Spot)
	require.Equal(t, []string{"us-east-1c"}, rplan.Offers[0].AvailabilityZones)
	reserved.Configuration.Reservation = ptrTo("cr-0bbbbbbbbbbbbbbbb")
	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: reserved}, &rplan))
	require.Empty(t, rplan.Offers, "an unknown reservation offers nothing")

	s.applyFleet(t, spec)

	run := runSpecOf(t, "cloud-task", `{"type": "task", "commands": ["echo hello from $(hostname -I)"],
		"resources": {"cpu": "2..", "memory": "8GB..", "disk": "100GB.."}}`)
	var r schemas.Run
	require.NoError(t, s.Call(context.Background(), "/api/project/main/runs/apply",
		schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: run}, Force: true}, &r))
	var got schemas.Run
	eventually(t, 4*time.Minute, "the run finishes", func() error {
		got = schemas.Run{}
		if err := s.Call(context.Background(), "/api/project/main/runs/get", schemas.GetRunRequest{RunName: ptrTo("cloud-task")}, &got); err != nil {
			return err
		}
		if got.Status.Finished() {
			return nil
		}
		return fmt.Errorf("status %s", got.Status)
	})
	require.Equal(t, schemas.RunDone, got.Status, "%+v", got.LatestJobSubmission)
	require.Equal(t, 1, proxy.Fired("InsufficientInstanceCapacity"))
	require.Equal(t, 1, proxy.Fired("VcpuLimitExceeded"))
	running := mototest.Instances(t, ec2c, "running")
	require.Len(t, running, 1)
	require.Equal(t, "c5.4xlarge", string(running[0].InstanceType))
	require.NotNil(t, vms.Host(*running[0].InstanceId), "an emulated VM ran the instance")

	eventually(t, 2*time.Minute, "the idle instance is released and its VM terminated", func() error {
		if n := len(mototest.Instances(t, ec2c, "running", "pending")); n != 0 {
			return fmt.Errorf("%d instances still run", n)
		}
		return nil
	})
	// Each step of the instance's life is an event, as for SSH instances.
	eventually(t, time.Minute, "the instance's status changes are events", func() error {
		var es []schemas.Event
		if err := s.Call(context.Background(), "/api/events/list", schemas.ListEventsRequest{IncludeTargetTypes: []string{"instance"},
			Ascending: true}, &es); err != nil {
			return err
		}
		var got []string
		for _, e := range es {
			if strings.HasPrefix(e.Message, "Instance status changed") {
				got = append(got, strings.TrimPrefix(e.Message, "Instance status changed "))
			}
		}
		want := []string{"PENDING -> PROVISIONING", "PROVISIONING -> BUSY", "IDLE -> TERMINATING", "TERMINATING -> TERMINATED"}
		for _, w := range want {
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
				return fmt.Errorf("no %q in %q", w, got)
			}
		}
		return nil
	})
	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"cloud"}}, nil))
	require.Empty(t, vms.Errors())
}

// TestCloudClusterFleetPlacementGroup: the nodes of a `placement: cluster`
// cloud fleet go into one placement group (cluster strategy) in the first
// node's region, burstable types skipped; deleting the fleet deletes the
// group once its instances are gone.
func TestCloudClusterFleetPlacementGroup(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	proxy := mototest.NewProxy(t, moto, "")
	ec2c := mototest.EC2(t, moto, "us-east-1")
	vpc, _ := mototest.Network(t, ec2c, "10.203.9.0/24")
	mototest.Image(t, ec2c, "vm-image")
	s := startCloudServer(t, server.Options{AWSEndpoint: proxy.URL}, vpc, "ubuntu")

	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(`{"configuration": {"type": "fleet", "name": "cl", "nodes": 2, "placement": "cluster",
		"resources": {"cpu": "2..", "memory": "8GB.."}}, "profile": {"name": "default"}}`), &spec))
	f := s.applyFleet(t, spec)
	eventually(t, 2*time.Minute, "both nodes are launched", func() error {
		if n := len(mototest.Instances(t, ec2c, "pending", "running")); n != 2 {
			return fmt.Errorf("%d instances launched", n)
		}
		return nil
	})
	group := "dstack-cl-" + f.ID[:8]
	require.Equal(t, map[string]string{group: "cluster"}, proxy.PlacementGroups("us-east-1"))
	require.Equal(t, group, proxy.Form("RunInstances").Get("Placement.GroupName"))
	for _, in := range mototest.Instances(t, ec2c, "pending", "running") {
		require.NotEqual(t, "t3.large", string(in.InstanceType), "the cheapest type cannot join a cluster placement group")
	}

	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"cl"}}, nil))
	eventually(t, 2*time.Minute, "the fleet is deleted with its placement group", func() error {
		if n := len(mototest.Instances(t, ec2c, "pending", "running")); n != 0 {
			return fmt.Errorf("%d instances still run", n)
		}
		if g := proxy.PlacementGroups("us-east-1"); len(g) != 0 {
			return fmt.Errorf("placement groups left: %v", g)
		}
		return nil
	})
}
