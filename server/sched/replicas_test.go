package sched

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanReplicas(t *testing.T) {
	rep := func(num, dep int, active, ready bool) ServiceReplica {
		return ServiceReplica{Num: num, DeploymentNum: dep, Active: active, Ready: ready}
	}
	tests := []struct {
		name     string
		dep      int
		desired  int
		replicas []ServiceReplica
		want     ReplicaPlan
	}{
		{"steady", 0, 2, []ServiceReplica{rep(0, 0, true, true), rep(1, 0, true, true)}, ReplicaPlan{}},
		{"scale up", 0, 3, []ServiceReplica{rep(0, 0, true, true)}, ReplicaPlan{Add: 2}},
		{"from zero", 0, 1, []ServiceReplica{rep(0, 0, false, false)}, ReplicaPlan{Add: 1}},
		{"scale down the not ready, then the newest", 0, 1,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 0, true, false), rep(2, 0, true, true)}, ReplicaPlan{Stop: []int{1, 2}}},
		{"to zero", 0, 0, []ServiceReplica{rep(0, 0, true, true), rep(1, 0, false, false)}, ReplicaPlan{Stop: []int{0}}},
		{"rolling: a new replica first", 1, 2,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 0, true, true)}, ReplicaPlan{Add: 1}},
		{"rolling: wait while the new one is not ready", 1, 2,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 0, true, true), rep(2, 1, true, false)}, ReplicaPlan{}},
		{"rolling: the new one ready, one old stops", 1, 2,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 0, true, true), rep(2, 1, true, true)}, ReplicaPlan{Stop: []int{1}}},
		{"rolling: the next new one once the old has stopped", 1, 2,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 0, false, false), rep(2, 1, true, true)}, ReplicaPlan{Add: 1}},
		{"rolling: the last old one stops", 1, 2,
			[]ServiceReplica{rep(0, 0, true, true), rep(2, 1, true, true), rep(3, 1, true, true)}, ReplicaPlan{Stop: []int{0}}},
		{"rolling: an old replica not ready stops at once", 1, 1,
			[]ServiceReplica{rep(0, 0, true, false), rep(1, 1, true, false)}, ReplicaPlan{Stop: []int{0}}},
		{"rolling: old not ready stops, surge refilled", 1, 1,
			[]ServiceReplica{rep(0, 0, true, false)}, ReplicaPlan{Add: 1, Stop: []int{0}}},
		{"rolling: the new replica failed, the old ones stay and nothing starts", 1, 1,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 1, false, false)}, ReplicaPlan{}},
		{"rolling again after a failed rollout", 2, 1,
			[]ServiceReplica{rep(0, 0, true, true), rep(1, 1, false, false)}, ReplicaPlan{Add: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, planReplicas(tt.dep, tt.desired, tt.replicas))
		})
	}
}
