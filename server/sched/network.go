package sched

import (
	"slices"

	"github.com/dstackgo/dstack/server/schemas"
)

// Network modes of a job's container (job_runtime_data.network_mode).
const (
	networkHost   = "host"
	networkBridge = "bridge"
)

// Values of DSTACK_SERVER_JOB_NETWORK_MODE.
const (
	// networkModeHostForMultinodeOnly (1): host networking only for multi-node jobs.
	networkModeHostForMultinodeOnly = 1
	// networkModeHostWhenPossible (2, the default): host networking whenever the job has the
	// whole instance.
	networkModeHostWhenPossible = 2
	// networkModeForcedBridge (3): always bridge networking, multi-node jobs included.
	networkModeForcedBridge = 3
)

// JobRuntime is the runtime data a job gets when it is assigned an instance offer (the
// Choice's offer: blocks and the resources of those blocks). A job that takes the whole
// instance (blocks == total_blocks) runs with host networking and no limits, unless the
// server's network mode setting says otherwise (1: bridge unless multi-node; 3: always
// bridge; any other value behaves as the default 2). A job on part of an instance runs with
// bridge networking, limited to the offer's CPUs, GPUs and memory (GB).
func JobRuntime(networkModeSetting int, offer schemas.InstanceOffer, multinode bool) schemas.JobRuntimeData {
	jrd := schemas.JobRuntimeData{Offer: &offer}
	if offer.Blocks == offer.TotalBlocks {
		jrd.NetworkMode = networkHost
		switch {
		case networkModeSetting == networkModeForcedBridge:
			jrd.NetworkMode = networkBridge
		case networkModeSetting == networkModeHostForMultinodeOnly && !multinode:
			jrd.NetworkMode = networkBridge
		}
		return jrd
	}
	res := offer.Instance.Resources
	cpu, gpu, mem := float64(res.CPUs), len(res.Gpus), float64(res.MemoryMiB)/1024
	jrd.NetworkMode, jrd.CPU, jrd.GPU, jrd.Memory = networkBridge, &cpu, &gpu, &mem
	return jrd
}

// ClusterInfo is what the runner is told about a multi-node replica (SubmitBody.cluster_info);
// it becomes DSTACK_NODES_IPS, DSTACK_MASTER_NODE_IP, DSTACK_GPUS_PER_NODE and friends.
type ClusterInfo struct {
	JobIPs      []string `json:"job_ips"`
	MasterJobIP string   `json:"master_job_ip"`
	GPUsPerJob  int      `json:"gpus_per_job"`  // GPUs of this job's node
	GPUsPerNode []int    `json:"gpus_per_node"` // GPUs of every node, in job_ips order
}

// ClusterNode is one job of a replica as cluster info needs it: its latest submission's
// provisioning data (internal IP) and GPU count (see NodeGPUs).
type ClusterNode struct {
	JobNum      int
	Provisioned bool   // the latest submission has job_provisioning_data
	InternalIP  string // "" when the instance has none
	GPUs        int
}

// ClusterInfoFor builds the cluster info of the job numbered jobNum from the jobs of its
// replica (any order): IPs and GPU counts in job_num order, the master being job 0's IP.
// ok is false while some job of the replica is not provisioned yet (the runner must not be
// submitted before), or when jobNum is not among them.
func ClusterInfoFor(replica []ClusterNode, jobNum int) (info ClusterInfo, ok bool) {
	nodes := slices.Clone(replica)
	slices.SortFunc(nodes, func(a, b ClusterNode) int { return a.JobNum - b.JobNum })
	self := -1
	for i, n := range nodes {
		if !n.Provisioned {
			return ClusterInfo{}, false
		}
		if n.JobNum == jobNum {
			self = i
		}
		info.JobIPs = append(info.JobIPs, n.InternalIP)
		info.GPUsPerNode = append(info.GPUsPerNode, n.GPUs)
	}
	if self < 0 {
		return ClusterInfo{}, false
	}
	info.MasterJobIP, info.GPUsPerJob = info.JobIPs[0], nodes[self].GPUs
	return info, true
}

// NodeGPUs is the GPU count a job sees on its node: that of its runtime offer (its blocks)
// when it has one, else that of the whole instance type.
func NodeGPUs(jpd schemas.JobProvisioningData, jrd *schemas.JobRuntimeData) int {
	if jrd != nil && jrd.Offer != nil {
		return len(jrd.Offer.Instance.Resources.Gpus)
	}
	return len(jpd.InstanceType.Resources.Gpus)
}
