package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestCloudInstanceFaults keeps a cloud fleet of one node through two bad
// VMs: the first never becomes reachable (terminated after the
// provisioning timeout, never leaked), the second, launched after the
// relaunch back-off, gets the user data's keys but its commands never run
// (the download route cannot be used): the server uploads the agent over
// SSH and the instance becomes idle.
func TestCloudInstanceFaults(t *testing.T) {
	sshtest.Require(t)
	moto := mototest.Start(t)
	subnet := sshtest.ReserveSubnet(t)
	user := sshtest.NewUser(t)
	ec2c := mototest.EC2(t, moto, "us-east-1")
	vpc, _ := mototest.Network(t, ec2c, subnet.CIDR)
	mototest.Image(t, ec2c, "vm-image")
	vms := mototest.StartVMs(t, ec2c, subnet, user, func(n int, _ types.Instance) mototest.Behavior {
		return []mototest.Behavior{mototest.VMUnreachable, mototest.VMKeysOnly, mototest.VMBoots}[min(n, 2)]
	})

	s := startCloudServer(t, server.Options{Host: subnet.Gateway, AWSEndpoint: moto,
		InstanceProvisioningTimeout: 45 * time.Second, AgentGrace: 5 * time.Second}, vpc, user)

	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(`{"configuration": {"type": "fleet", "name": "faulty", "nodes": 1,
		"resources": {"cpu": 2, "memory": "8GB", "disk": "100GB"}}, "profile": {"name": "default"}}`), &spec))
	s.applyFleet(t, spec)

	live := func() []string {
		var ids []string
		for _, in := range mototest.Instances(t, ec2c, "pending", "running") {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
		return ids
	}
	var first []string
	eventually(t, 3*time.Minute, "the first VM launched", func() error {
		if first = live(); len(first) != 1 {
			return fmt.Errorf("live VMs %v", first)
		}
		return nil
	})
	f := s.waitFleet(t, "faulty", 6*time.Minute, func(f *schemas.Fleet) bool {
		ids := live()
		return len(ids) == 1 && ids[0] != first[0] && allInstances(schemas.InstanceIdle)(f)
	})
	require.Len(t, f.Instances, 1)
	second := live()[0]
	var gone []string
	for _, in := range mototest.Instances(t, ec2c, "shutting-down", "terminated") {
		gone = append(gone, aws.ToString(in.InstanceId))
	}
	require.True(t, slices.Contains(gone, first[0]), "the unreachable VM is terminated: %v", gone)
	require.NotNil(t, vms.Host(second), "the second VM is emulated")
	// Its user data's commands never ran (VMKeysOnly): the agent that
	// answers is the one the server uploaded over SSH.

	require.NoError(t, s.Call(context.Background(), "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"faulty"}}, nil))
	eventually(t, 3*time.Minute, "nothing left running", func() error {
		if ids := live(); len(ids) != 0 {
			return fmt.Errorf("live VMs %v", ids)
		}
		return nil
	})
	require.Empty(t, vms.Errors())
}
