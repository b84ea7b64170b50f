package sched

import (
	"slices"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Candidate is an existing fleet instance as the scheduler sees it: a snapshot the caller
// loads from the instances and fleets tables.
type Candidate struct {
	InstanceID   string
	InstanceName string // "<fleet>-<instance_num>"; what `instances: [name]` selects
	InstanceNum  int
	FleetID      string
	FleetName    string
	// FleetProject is the project that owns the fleet; Imported is true when that is not the
	// run's project. A `fleets:` reference without a project matches only own fleets.
	FleetProject string
	Imported     bool
	// ClusterPlacement is true for fleets with `placement: cluster`; multi-node runs use
	// only those.
	ClusterPlacement bool
	Status           schemas.InstanceStatus
	Unreachable      bool
	HealthFailure    bool // health_status is "failure"
	// Hostname and InternalIP are what `instances: [{hostname}]` matches (case-insensitive).
	Hostname         string
	InternalIP       string
	AvailabilityZone string
	// Offer describes the whole instance: backend, region, instance type name, resources,
	// price (the whole instance's price, also for blocks).
	Offer schemas.InstanceOffer
	// TotalBlocks is how many equal shares the instance is split into; 0 means not known
	// yet (blocks: auto on an instance still provisioning), and such instances are skipped.
	TotalBlocks int
	BusyBlocks  int
}

// freeBlocks is the number of blocks no job holds.
func (c *Candidate) freeBlocks() int { return c.TotalBlocks - c.BusyBlocks }

// assignable reports whether jobs may be placed on the instance now (idle or busy with free
// blocks); pending and provisioning instances show in plans as busy.
func (c *Candidate) assignable() bool {
	return c.Status == schemas.InstanceIdle || c.Status == schemas.InstanceBusy
}

// Offer is an offer from an existing instance for one job.
type Offer struct {
	InstanceID   string
	InstanceName string
	FleetID      string
	FleetName    string
	// Blocks is the smallest number of blocks that satisfies the job (all of them for
	// multi-node jobs).
	Blocks int
	// InstanceOffer carries the resources of Blocks blocks, blocks/total_blocks, and
	// availability idle (free blocks now) or busy.
	InstanceOffer schemas.InstanceOffer
}

// OffersForJob returns the offers existing instances make for a job with these requirements
// and merged profile: every candidate that passes the profile's fleets, instances, backends,
// regions, availability_zones and instance_types filters (and, for multi-node requirements,
// is in a cluster fleet) and whose blocks can satisfy the requirements. Availability is idle
// when the instance is idle or busy and has enough free blocks, busy otherwise. The result is
// sorted as upstream plans list them: available first, then by price, then by fewer blocks,
// then in candidate order.
func OffersForJob(req schemas.Requirements, profile schemas.Profile, cands []Candidate) []Offer {
	req = effectiveRequirements(req, &profile)
	multinode := isMultinode(&req)
	var out []Offer
	for i := range cands {
		c := &cands[i]
		if !eligible(c, &profile, multinode) {
			continue
		}
		if multinode && c.TotalBlocks > 1 && c.BusyBlocks > 0 {
			continue // upstream hides shared instances that a multi-node job cannot take whole
		}
		blocks, m := neededBlocks(&req, c, multinode)
		if m != matched {
			continue
		}
		avail := schemas.AvailabilityBusy
		if c.assignable() && blocks <= c.freeBlocks() {
			avail = schemas.AvailabilityIdle
		}
		out = append(out, makeOffer(c, blocks, avail))
	}
	slices.SortStableFunc(out, func(a, b Offer) int {
		if ai, bi := a.InstanceOffer.Availability == schemas.AvailabilityIdle,
			b.InstanceOffer.Availability == schemas.AvailabilityIdle; ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		if d := cmpFloat(a.InstanceOffer.Price, b.InstanceOffer.Price); d != 0 {
			return d
		}
		return a.Blocks - b.Blocks
	})
	return out
}

// effectiveRequirements fills spot and max_price from the merged profile when the job's
// requirements leave them open (upstream derives both from the profile when it builds the
// job spec, so a consistent caller sees no change).
func effectiveRequirements(req schemas.Requirements, p *schemas.Profile) schemas.Requirements {
	if req.Spot == nil && p.SpotPolicy != nil && *p.SpotPolicy != schemas.SpotPolicyAuto {
		req.Spot = &spotFalse
		if *p.SpotPolicy == schemas.SpotPolicySpot {
			req.Spot = &spotTrue
		}
	}
	if req.MaxPrice == nil && p.MaxPrice != nil {
		req.MaxPrice = p.MaxPrice
	}
	return req
}

// spotTrue and spotFalse back the Spot pointers effectiveRequirements sets (never written).
var spotTrue, spotFalse = true, false

func isMultinode(req *schemas.Requirements) bool { return req.Multinode != nil && *req.Multinode }

// neededBlocks is the smallest number of blocks of c whose share satisfies req, or the
// mismatch of the largest share when none does. Multi-node jobs take whole instances.
func neededBlocks(req *schemas.Requirements, c *Candidate, multinode bool) (int, mismatch) {
	total := c.TotalBlocks
	first := 1
	if multinode {
		first = total
	}
	m := matched
	for b := first; b <= total; b++ {
		off := c.Offer
		if total > 1 {
			off = shareOffer(c.Offer, b, total)
		}
		if m = check(req, &off); m == matched {
			return b, matched
		}
	}
	return 0, m
}

// shareOffer is the offer of `blocks` of `total` equal blocks: CPUs, memory and GPUs are
// divided (rounding down per block, as upstream does); the disk, spot flag, CPU architecture
// and price stay those of the whole instance (the disk is one shared filesystem).
func shareOffer(whole schemas.InstanceOffer, blocks, total int) schemas.InstanceOffer {
	off := whole
	res := &off.Instance.Resources
	res.CPUs = whole.Instance.Resources.CPUs / total * blocks
	res.MemoryMiB = whole.Instance.Resources.MemoryMiB / total * blocks
	n := len(whole.Instance.Resources.Gpus) / total * blocks
	res.Gpus = whole.Instance.Resources.Gpus[:n:n]
	off.Blocks, off.TotalBlocks = blocks, total
	return off
}

func makeOffer(c *Candidate, blocks int, avail schemas.OfferAvailability) Offer {
	off := shareOffer(c.Offer, blocks, c.TotalBlocks)
	off.Availability = avail
	// A copy, so that results never alias the caller's candidates.
	off.Instance.Resources.Gpus = append([]schemas.Gpu{}, off.Instance.Resources.Gpus...)
	return Offer{InstanceID: c.InstanceID, InstanceName: c.InstanceName, FleetID: c.FleetID,
		FleetName: c.FleetName, Blocks: blocks, InstanceOffer: off}
}

// eligible applies the instance-level filters that do not depend on resources: the
// instance is alive, its fleet and the instance itself are selected by the profile, and it
// is in an allowed backend, region, zone and instance type.
func eligible(c *Candidate, p *schemas.Profile, multinode bool) bool {
	switch {
	case !c.Status.Active(), c.Unreachable, c.HealthFailure, c.TotalBlocks <= 0:
		return false
	case multinode && !c.ClusterPlacement:
		return false
	case p.Fleets != nil && !slices.ContainsFunc(p.Fleets, func(r schemas.EntityReference) bool {
		return fleetMatches(c, r)
	}):
		return false
	case p.Instances != nil && !slices.ContainsFunc(p.Instances, func(s schemas.InstanceSelector) bool {
		return selectorMatches(c, s)
	}):
		return false
	case p.Backends != nil && !containsFold(p.Backends, c.Offer.Backend):
		return false
	case p.Regions != nil && !containsFold(p.Regions, c.Offer.Region):
		return false
	case p.InstanceTypes != nil && !containsFold(p.InstanceTypes, c.Offer.Instance.Name):
		return false
	case p.AvailabilityZones != nil && c.AvailabilityZone != "" &&
		!slices.Contains(p.AvailabilityZones, c.AvailabilityZone):
		return false
	}
	return true
}

func fleetMatches(c *Candidate, r schemas.EntityReference) bool {
	if r.Name != c.FleetName {
		return false
	}
	if r.Project == nil {
		return !c.Imported
	}
	return *r.Project == c.FleetProject
}

func selectorMatches(c *Candidate, s schemas.InstanceSelector) bool {
	switch {
	case s.Name != nil:
		return *s.Name == c.InstanceName
	case s.Hostname != nil:
		h := *s.Hostname
		return (c.Hostname != "" && strings.EqualFold(h, c.Hostname)) ||
			(c.InternalIP != "" && strings.EqualFold(h, c.InternalIP))
	case s.Fleet != nil && s.Instance != nil:
		return fleetMatches(c, *s.Fleet) && *s.Instance == c.InstanceNum
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
