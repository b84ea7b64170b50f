package sched

import (
	"fmt"

	"github.com/dstackgo/dstack/server/schemas"
)

// FleetNode is an instance of a cluster fleet as ClusterLaunch sees it.
type FleetNode struct {
	ID     string
	Num    int
	Status schemas.InstanceStatus
	// Launched is true once the cloud accepted the instance; Backend and
	// Region are where.
	Launched        bool
	Backend, Region string
}

// ClusterPlan is where an instance of a cluster fleet may be launched.
type ClusterPlan struct {
	// Wait is true while the fleet's first node is being launched: the
	// others follow it, so they wait to know where.
	Wait bool
	// Backend and Region restrict the offers ("" for the first node: any).
	Backend, Region string
}

// ClusterLaunch decides where node self of a cluster fleet goes: its nodes
// are all in the backend and region of the first live node (the lowest
// number), as upstream places a cluster next to its master. The first node
// may go anywhere; the others wait until it is launched.
func ClusterLaunch(self string, nodes []FleetNode) ClusterPlan {
	var first *FleetNode
	for i := range nodes {
		n := &nodes[i]
		if n.Status == schemas.InstanceTerminating || n.Status == schemas.InstanceTerminated {
			continue
		}
		if first == nil || n.Num < first.Num || (n.Launched && !first.Launched) {
			first = n
		}
	}
	switch {
	case first == nil || first.ID == self:
		return ClusterPlan{}
	case !first.Launched:
		return ClusterPlan{Wait: true}
	}
	return ClusterPlan{Backend: first.Backend, Region: first.Region}
}

// ClusterOffers keeps the offers of the plan's backend and region.
func ClusterOffers(offers []schemas.InstanceOffer, p ClusterPlan) []schemas.InstanceOffer {
	if p.Backend == "" {
		return offers
	}
	var out []schemas.InstanceOffer
	for _, o := range offers {
		if o.Backend == p.Backend && o.Region == p.Region {
			out = append(out, o)
		}
	}
	return out
}

// PlacementGroupName is the name of a cluster fleet's placement group:
// unique per fleet, recognisable in the cloud console.
func PlacementGroupName(fleetName, fleetID string) string {
	id := fleetID
	if len(id) > 8 {
		id = id[:8]
	}
	return fmt.Sprintf("dstack-%s-%s", fleetName, id)
}
