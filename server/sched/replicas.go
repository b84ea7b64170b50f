package sched

import (
	"slices"
	"time"
)

// ServiceReplica is the latest submission of one replica of a service run.
type ServiceReplica struct {
	Num           int
	DeploymentNum int
	// Active: not finished, not stopping (a replica scaled down or being
	// replaced is not).
	Active bool
	// Ready: running with its probes ready, so it takes requests.
	Ready bool
	// ScaledDown: stopped (or stopping) because the service scaled down.
	ScaledDown bool
	// SubmittedAt and LastProcessedAt date the replica's start and, for an
	// inactive one, its end, for the scaler's delays.
	SubmittedAt     time.Time
	LastProcessedAt time.Time
}

// ReplicaPlan is how a service's replicas change in one pass.
type ReplicaPlan struct {
	// Add is how many new replicas (of the run's current deployment) start.
	Add int
	// Stop lists the replicas that stop (scaled_down).
	Stop []int
}

// rollingSurge is how many replicas above the desired count a rolling
// update may run at once, as upstream's.
const rollingSurge = 1

// planReplicas brings a service to desired replicas of deployment. Without
// replicas of an older deployment it starts or stops the difference (the
// least useful first: not ready, then the newest). With older replicas it
// rolls: one replica above desired starts with the new deployment; an older
// replica stops once enough replicas are ready without it, so the number
// of replicas taking requests never falls below what it was. A rollout
// whose new replica failed (it ended without being scaled down) stops
// there: the older replicas keep serving, and nothing more starts until the
// service is applied again.
func planReplicas(deployment, desired int, replicas []ServiceReplica) ReplicaPlan {
	failedRollout := slices.ContainsFunc(replicas, func(r ServiceReplica) bool {
		return !r.Active && !r.ScaledDown && r.DeploymentNum == deployment
	})
	var active, outdated []ServiceReplica
	for _, r := range replicas {
		if !r.Active {
			continue
		}
		active = append(active, r)
		if r.DeploymentNum < deployment {
			outdated = append(outdated, r)
		}
	}
	var plan ReplicaPlan
	if len(outdated) == 0 {
		switch diff := desired - len(active); {
		case diff > 0:
			plan.Add = diff
		case diff < 0:
			plan.Stop = leastUseful(active, -diff)
		}
		return plan
	}
	if failedRollout {
		return plan
	}
	if n := len(active); n < desired+rollingSurge {
		plan.Add = desired + rollingSurge - n
	}
	ready := 0
	for _, r := range active {
		if r.Ready {
			ready++
		}
	}
	excess := ready - desired
	for _, r := range byUsefulness(outdated) {
		switch {
		case !r.Ready:
			plan.Stop = append(plan.Stop, r.Num)
		case excess > 0:
			plan.Stop = append(plan.Stop, r.Num)
			excess--
		}
	}
	slices.Sort(plan.Stop)
	return plan
}

// leastUseful picks n replicas to stop (see byUsefulness).
func leastUseful(rs []ServiceReplica, n int) []int {
	c := byUsefulness(rs)
	out := make([]int, 0, n)
	for _, r := range c[:min(n, len(c))] {
		out = append(out, r.Num)
	}
	slices.Sort(out)
	return out
}

// byUsefulness orders replicas the first to stop first: those not ready,
// then the highest numbers.
func byUsefulness(rs []ServiceReplica) []ServiceReplica {
	c := slices.Clone(rs)
	slices.SortStableFunc(c, func(a, b ServiceReplica) int {
		if a.Ready != b.Ready {
			if a.Ready {
				return 1
			}
			return -1
		}
		return b.Num - a.Num
	})
	return c
}

// lastScaledAt is when the service last scaled, as upstream computes it:
// the latest of its active replicas' starts and its inactive replicas' ends.
func lastScaledAt(replicas []ServiceReplica) *time.Time {
	var last *time.Time
	for _, r := range replicas {
		t := r.LastProcessedAt
		if r.Active {
			t = r.SubmittedAt
		}
		if last == nil || t.After(*last) {
			last = &t
		}
	}
	return last
}
