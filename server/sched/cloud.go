package sched

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// MaxOffersTried is how many offers one provisioning tries (upstream's
// DSTACK_SERVER_MAX_OFFERS_TRIED default).
const MaxOffersTried = 25

// provisioningTroubleshooting is the link upstream adds to provisioning failures.
const provisioningTroubleshooting = "https://dstack.ai/docs/guides/troubleshooting/#provisioning-fails"

// FleetConstraint is what a cloud fleet allows its instances to be: its resources (the
// defaults when unset), spot policy, max price and reservation, and its backends, regions and
// instance types.
func FleetConstraint(spec schemas.FleetSpec) Constraint {
	c := spec.Configuration
	res := schemas.DefaultResourcesSpec()
	if c.Resources != nil {
		res = *c.Resources
	}
	profile := schemas.MergeFleetProfile(spec.Profile, c)
	req := schemas.Requirements{Resources: res, MaxPrice: profile.MaxPrice, Reservation: profile.Reservation}
	return Constraint{Requirements: req, Profile: profile}
}

// CloudFleet is a cloud fleet (nodes, not ssh_config) as the scheduler sees it.
type CloudFleet struct {
	FleetID   string
	FleetName string
	// Imported is true for a fleet of another project; Project names it.
	Project  string
	Imported bool
	Cluster  bool
	// Active counts its instances that are not terminating or terminated.
	Active int
	// Max is nodes.max (nil: no limit).
	Max *int
	// Offers are the backend offers the fleet allows, cheapest first. For PlanCapacity,
	// those that also meet the job's requirements, loaded for the fleets that can take
	// the job (JobReq.Selects, CanGrow).
	Offers []schemas.InstanceOffer
}

// CanGrow reports whether the fleet may get another instance.
func (f *CloudFleet) CanGrow() bool { return f.Max == nil || f.Active < *f.Max }

// CapacityPlan is where a job that no existing instance can take gets a new instance.
type CapacityPlan struct {
	// FleetID is the fleet the instance goes into ("" when none can take it).
	FleetID   string
	FleetName string
	// Reason is the job's termination message when FleetID is "".
	Reason string
}

// Selects reports whether the job may get an instance in the cloud fleet: the run's fleet
// once it has one; a cluster fleet for a multi-node job; a fleet the run's profile names
// (own fleets unless named with their project), or any when it names none.
func (job *JobReq) Selects(f *CloudFleet) bool {
	if job.RunFleetID != "" && f.FleetID != job.RunFleetID {
		return false
	}
	if job.multinode() && !f.Cluster {
		return false
	}
	return job.Profile.Fleets == nil || slices.ContainsFunc(job.Profile.Fleets, func(r schemas.EntityReference) bool {
		return r.Name == f.FleetName && ((r.Project == nil && !f.Imported) || (r.Project != nil && *r.Project == f.Project))
	})
}

// PlanCapacity picks the cloud fleet a new instance for the job goes into: among the fleets
// the job selects that can grow, the one whose cheapest offer for the job (Offers) is
// cheapest (fleet order on ties). The job fails with upstream's message when no fleet can
// grow, or none has an offer for it.
func PlanCapacity(job JobReq, fleets []CloudFleet) CapacityPlan {
	p := &job.Profile
	var best *CloudFleet
	bestPrice := 0.0
	eligible, growable := 0, 0
	for i := range fleets {
		f := &fleets[i]
		if !job.Selects(f) {
			continue
		}
		eligible++
		if !f.CanGrow() {
			continue
		}
		growable++
		if len(f.Offers) == 0 {
			continue
		}
		if best == nil || f.Offers[0].Price < bestPrice {
			best, bestPrice = f, f.Offers[0].Price
		}
	}
	switch {
	case best != nil:
		return CapacityPlan{FleetID: best.FleetID, FleetName: best.FleetName}
	case eligible == 0:
		if p.Fleets != nil {
			return CapacityPlan{Reason: msgSpecifiedFleets}
		}
		return CapacityPlan{Reason: msgNoMatchingFleet}
	case growable == 0:
		return CapacityPlan{Reason: "No fleet can provision another instance: every matching fleet is at its `nodes` maximum"}
	}
	names := []string{}
	for i := range fleets {
		names = append(names, fmt.Sprintf("%q", fleets[i].FleetName))
	}
	return CapacityPlan{Reason: fmt.Sprintf("No offers matching the run requirements in fleet %s.\nSee %s",
		strings.Join(names, ", "), provisioningTroubleshooting)}
}

// OfferError is a failed launch of one offer.
type OfferError struct {
	Instance, Backend, Region, Error string
}

// LaunchFailure is upstream's message for a provisioning that found no instance: no offers,
// or every tried offer failed (each distinct error once, at most three).
func LaunchFailure(fleet string, total, tried int, errs []OfferError) string {
	if total == 0 {
		return fmt.Sprintf("No offers matching the run requirements in fleet %q.\nSee %s", fleet, provisioningTroubleshooting)
	}
	limit := ""
	if tried < total {
		limit = " (attempt limit reached)"
	}
	msg := fmt.Sprintf("Failed to provision in fleet %q: tried %d of %d offers%s, all failed.", fleet, tried, total, limit)
	if len(errs) > 0 {
		seen := map[string]bool{}
		var parts []string
		for _, e := range errs {
			if seen[e.Error] {
				continue
			}
			seen[e.Error] = true
			parts = append(parts, fmt.Sprintf("%s in %s/%s: %s", e.Instance, e.Backend, e.Region, e.Error))
		}
		if len(parts) > 3 {
			parts = append(parts[:3], fmt.Sprintf("and %d more", len(parts)-3))
		}
		msg += "\nErrors: " + strings.Join(parts, "; ") + "."
	}
	return msg + "\nSee " + provisioningTroubleshooting
}

// NodesToAdd is how many instances a cloud fleet needs to reach nodes.min.
func NodesToAdd(min, active int) int { return max(min-active, 0) }

// Relaunch back-off: the first replacement after a failed launch waits
// relaunchBackoffBase, each further consecutive failure doubles the wait,
// up to relaunchBackoffMax, so a region out of capacity or a quota is not
// asked every few seconds for hours.
const (
	relaunchBackoffBase = 30 * time.Second
	relaunchBackoffMax  = 10 * time.Minute
)

// EndedInstance is an ended instance of a cloud fleet, as the relaunch
// back-off sees it.
type EndedInstance struct {
	FinishedAt time.Time
	// Failed is true for a launch that failed or an instance that never
	// became ready; false for one released or deleted (idle timeout, a
	// user's delete): that one had served, and resets the count.
	Failed bool
}

// RelaunchWait is how long a cloud fleet below nodes.min still waits
// before it launches a replacement: the back-off of its consecutive
// failures (the failed instances that ended after the last one that did
// not fail), counted from the latest failure. Zero means launch now.
func RelaunchWait(ended []EndedInstance, now time.Time) time.Duration {
	sorted := slices.Clone(ended)
	slices.SortFunc(sorted, func(a, b EndedInstance) int { return b.FinishedAt.Compare(a.FinishedAt) })
	failures := 0
	for _, e := range sorted {
		if !e.Failed {
			break
		}
		failures++
	}
	if failures == 0 {
		return 0
	}
	wait := relaunchBackoffMax
	if failures <= 10 {
		wait = min(relaunchBackoffBase<<(failures-1), relaunchBackoffMax)
	}
	return max(wait-now.Sub(sorted[0].FinishedAt), 0)
}
