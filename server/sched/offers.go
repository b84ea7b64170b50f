package sched

import (
	"slices"

	"github.com/dstackgo/dstack/server/schemas"
)

// Constraint is one set of requirements an offer of new capacity must meet: a job's
// requirements with its merged profile, or a fleet's resources with the fleet's profile
// parameters. An offer for a job in a fleet must meet both.
type Constraint struct {
	Requirements schemas.Requirements
	Profile      schemas.Profile
}

// DiskRange is the disk size (GB) a backend can give an instance; Max 0 means no limit.
type DiskRange struct {
	Min, Max schemas.Memory
}

// OfferIndex is a list of catalog offers with a compact copy of the fields the filters
// compare first, so that a query scans a small contiguous array instead of the offers
// themselves and copies only what matches (BenchmarkBackendOffers, 40,000 offers, 8-GPU
// filter: 28 ms → 7 ms a query on a loaded 2-core machine). Build one per catalog version and
// share it; it is read-only.
type OfferIndex struct {
	Offers []schemas.InstanceOffer
	keys   []offerKey
}

type offerKey struct {
	price  float64
	memMiB int32
	cpus   int32
	gpus   int32
	spot   bool
}

// NewOfferIndex indexes offers (kept, not copied).
func NewOfferIndex(offers []schemas.InstanceOffer) *OfferIndex {
	idx := &OfferIndex{Offers: offers, keys: make([]offerKey, len(offers))}
	for i := range offers {
		r := &offers[i].Instance.Resources
		idx.keys[i] = offerKey{price: offers[i].Price, memMiB: int32(r.MemoryMiB), cpus: int32(r.CPUs),
			gpus: int32(len(r.Gpus)), spot: r.Spot}
	}
	return idx
}

// rejects reports whether the key alone shows that the offer fails req (a cheap, partial
// check: an offer it passes still goes through check).
func (k *offerKey) rejects(req *schemas.Requirements) bool {
	res := &req.Resources
	switch {
	case req.MaxPrice != nil && k.price > *req.MaxPrice:
		return true
	case req.Spot != nil && k.spot != *req.Spot:
		return true
	case !res.CPU.Count.Contains(int(k.cpus)):
		return true
	case !res.Memory.Contains(mibToGB(int(k.memMiB))):
		return true
	}
	if g := res.GPU; g != nil && !(k.gpus == 0 && g.Count.Min != nil && *g.Count.Min == 0) {
		return !g.Count.Contains(int(k.gpus))
	}
	return false
}

// BackendOffers picks the indexed catalog offers of backends that meet every constraint: the
// profile's backends, regions and instance_types filters, spot policy and max price, and the
// requirements (MatchOffer). An offer whose disk the catalog leaves to the backend (size 0)
// gets the smallest size within the backend's range (disks[backend]) and the requirements'
// disk range, and is dropped when the two do not meet. The result is sorted by price, cheapest
// first (catalog order on ties); the index is not modified (the results are copies).
func BackendOffers(idx *OfferIndex, cs []Constraint, disks map[string]DiskRange) []schemas.InstanceOffer {
	reqs := make([]schemas.Requirements, len(cs))
	for i := range cs {
		reqs[i] = effectiveRequirements(cs[i].Requirements, &cs[i].Profile)
	}
	var hits []int32
	var sizes []int
next:
	for i := range idx.keys {
		for j := range reqs {
			if idx.keys[i].rejects(&reqs[j]) {
				continue next
			}
		}
		o := &idx.Offers[i]
		if !profileAllows(cs, o) || !fitsAll(reqs, o) {
			continue
		}
		disk, ok := diskFor(o, reqs, disks[o.Backend])
		if !ok {
			continue
		}
		hits, sizes = append(hits, int32(i)), append(sizes, disk)
	}
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(idx.keys[hits[a]].price, idx.keys[hits[b]].price) })
	out := make([]schemas.InstanceOffer, len(hits))
	for k, i := range order {
		out[k] = idx.Offers[hits[i]]
		out[k].Instance.Resources.Disk.SizeMiB = sizes[i]
	}
	return out
}

func fitsAll(reqs []schemas.Requirements, o *schemas.InstanceOffer) bool {
	for j := range reqs {
		if check(&reqs[j], o) != matched {
			return false
		}
	}
	return true
}

func profileAllows(cs []Constraint, o *schemas.InstanceOffer) bool {
	for i := range cs {
		p := &cs[i].Profile
		switch {
		case p.Backends != nil && !containsFold(p.Backends, o.Backend):
			return false
		case p.Regions != nil && !containsFold(p.Regions, o.Region):
			return false
		case p.InstanceTypes != nil && !containsFold(p.InstanceTypes, o.Instance.Name):
			return false
		}
	}
	return true
}

// diskFor is the offer's disk in MiB: its own size when the catalog fixes it, else the
// smallest size every requirement and the backend accept.
func diskFor(o *schemas.InstanceOffer, reqs []schemas.Requirements, r DiskRange) (int, bool) {
	if o.Instance.Resources.Disk.SizeMiB != 0 {
		return o.Instance.Resources.Disk.SizeMiB, true
	}
	lo, hi := r.Min, r.Max
	for i := range reqs {
		d := reqs[i].Resources.Disk
		if d == nil {
			continue
		}
		if d.Size.Min != nil && *d.Size.Min > lo {
			lo = *d.Size.Min
		}
		if d.Size.Max != nil && (hi == 0 || *d.Size.Max < hi) {
			hi = *d.Size.Max
		}
	}
	if hi != 0 && lo > hi {
		return 0, false
	}
	return int(float64(lo)*1024 + 0.5), true
}
