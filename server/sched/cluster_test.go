package sched

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestClusterLaunch(t *testing.T) {
	node := func(id string, num int, st schemas.InstanceStatus, region string) FleetNode {
		n := FleetNode{ID: id, Num: num, Status: st}
		if region != "" {
			n.Launched, n.Backend, n.Region = true, "aws", region
		}
		return n
	}
	for _, tt := range []struct {
		name  string
		self  string
		nodes []FleetNode
		want  ClusterPlan
	}{
		{"the only node goes anywhere", "a", []FleetNode{node("a", 0, schemas.InstancePending, "")}, ClusterPlan{}},
		{"the first node goes anywhere", "a", []FleetNode{node("a", 0, schemas.InstancePending, ""), node("b", 1, schemas.InstancePending, "")}, ClusterPlan{}},
		{"the others wait for it", "b", []FleetNode{node("a", 0, schemas.InstancePending, ""), node("b", 1, schemas.InstancePending, "")}, ClusterPlan{Wait: true}},
		{"then follow it", "b", []FleetNode{node("a", 0, schemas.InstanceProvisioning, "us-west-2"), node("b", 1, schemas.InstancePending, "")},
			ClusterPlan{Backend: "aws", Region: "us-west-2"}},
		{"a launched node leads over a lower pending one", "c", []FleetNode{node("a", 0, schemas.InstancePending, ""),
			node("b", 1, schemas.InstanceIdle, "eu-west-1"), node("c", 2, schemas.InstancePending, "")}, ClusterPlan{Backend: "aws", Region: "eu-west-1"}},
		{"a lower pending node follows the launched one", "a", []FleetNode{node("a", 0, schemas.InstancePending, ""),
			node("b", 1, schemas.InstanceIdle, "eu-west-1")}, ClusterPlan{Backend: "aws", Region: "eu-west-1"}},
		{"ended nodes do not lead", "b", []FleetNode{node("a", 0, schemas.InstanceTerminated, "us-east-1"), node("b", 1, schemas.InstancePending, "")},
			ClusterPlan{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ClusterLaunch(tt.self, tt.nodes))
		})
	}
}

func TestClusterOffers(t *testing.T) {
	offers := []schemas.InstanceOffer{{Backend: "aws", Region: "us-east-1"}, {Backend: "aws", Region: "us-west-2"}, {Backend: "gcp", Region: "us-west-2"}}
	assert.Equal(t, offers, ClusterOffers(offers, ClusterPlan{}))
	assert.Equal(t, offers[1:2], ClusterOffers(offers, ClusterPlan{Backend: "aws", Region: "us-west-2"}))
	assert.Equal(t, "dstack-train-0123abcd", PlacementGroupName("train", "0123abcd-ffff"))
}
