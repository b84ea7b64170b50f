package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestJobRuntime(t *testing.T) {
	whole := host(16, 64, "A100", 2, 40, 500)
	part := shareOffer(host(64, 512, "H100", 8, 80, 2000), 2, 8)
	tests := []struct {
		name      string
		setting   int
		offer     schemas.InstanceOffer
		multinode bool
		mode      string
		cpu       *float64
		gpu       *int
		mem       *float64
	}{
		{"whole instance, default", networkModeHostWhenPossible, whole, false, networkHost, nil, nil, nil},
		{"unknown setting behaves as default", 0, whole, false, networkHost, nil, nil, nil},
		{"mode 1, single node", networkModeHostForMultinodeOnly, whole, false, networkBridge, nil, nil, nil},
		{"mode 1, multi-node", networkModeHostForMultinodeOnly, whole, true, networkHost, nil, nil, nil},
		{"mode 3, multi-node", networkModeForcedBridge, whole, true, networkBridge, nil, nil, nil},
		{"blocks: bridge with limits", networkModeHostWhenPossible, part, false, networkBridge, ptr(16.0), ptr(2), ptr(128.0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jrd := JobRuntime(tt.setting, tt.offer, tt.multinode)
			require.Equal(t, tt.mode, jrd.NetworkMode)
			require.Equal(t, tt.cpu, jrd.CPU)
			require.Equal(t, tt.gpu, jrd.GPU)
			require.Equal(t, tt.mem, jrd.Memory)
			require.Equal(t, tt.offer, *jrd.Offer)
		})
	}
}

func TestClusterInfoFor(t *testing.T) {
	nodes := []ClusterNode{
		{JobNum: 1, Provisioned: true, InternalIP: "10.0.0.2", GPUs: 8},
		{JobNum: 0, Provisioned: true, InternalIP: "10.0.0.1", GPUs: 2},
	}
	tests := []struct {
		name   string
		nodes  []ClusterNode
		jobNum int
		want   ClusterInfo
		ok     bool
	}{
		{"worker", nodes, 1, ClusterInfo{JobIPs: []string{"10.0.0.1", "10.0.0.2"}, MasterJobIP: "10.0.0.1",
			GPUsPerJob: 8, GPUsPerNode: []int{2, 8}}, true},
		{"master", nodes, 0, ClusterInfo{JobIPs: []string{"10.0.0.1", "10.0.0.2"}, MasterJobIP: "10.0.0.1",
			GPUsPerJob: 2, GPUsPerNode: []int{2, 8}}, true},
		{"a node not provisioned yet", append([]ClusterNode{{JobNum: 2}}, nodes...), 0, ClusterInfo{}, false},
		{"unknown job", nodes, 5, ClusterInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := ClusterInfoFor(tt.nodes, tt.jobNum)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, info)
		})
	}
}

func TestNodeGPUs(t *testing.T) {
	jpd := schemas.JobProvisioningData{InstanceType: host(64, 512, "H100", 8, 80, 2000).Instance}
	part := shareOffer(host(64, 512, "H100", 8, 80, 2000), 2, 8)
	require.Equal(t, 8, NodeGPUs(jpd, nil))
	require.Equal(t, 2, NodeGPUs(jpd, &schemas.JobRuntimeData{Offer: &part}))
}
