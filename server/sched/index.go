package sched

import (
	"cmp"
	"slices"

	"github.com/dstackgo/dstack/server/schemas"
)

// index answers "which instance for this job" for a batch. Jobs with the same requirements
// shape (requirements, profile filters, multi-node) share one sorted list of the offers the
// candidates make for that shape, computed once; placing a job walks the list with a cursor.
// Because free blocks only shrink during a batch, an offer that is unusable once stays
// unusable, so cursors only move forward.
type index struct {
	cands  []Candidate
	free   []int // free blocks per candidate, decremented as jobs are placed
	shapes map[string]*shape
	key    []byte // reused buffer for shape keys
}

// entry is one candidate's offer for a shape: the smallest number of blocks that fits.
type entry struct {
	cand   int32
	blocks int32
}

// fleetList is a shape's offers in one fleet (or in all fleets), best first.
type fleetList struct {
	id       string
	pos      []int32 // positions in shape.entries
	cursor   int
	eligible int      // candidates of the fleet that passed the profile filters
	missCand int32    // first eligible candidate that does not fit, -1 if none
	miss     mismatch // why missCand does not fit (its whole-instance share)
}

type shape struct {
	req        schemas.Requirements
	profile    *schemas.Profile
	entries    []entry
	all        fleetList
	fleets     map[string]*fleetList
	fleetOrder []*fleetList // fleets in order of their best offer; fleets without offers last
	fails      map[string]Assignment
}

func newIndex(cands []Candidate) *index {
	idx := &index{cands: cands, free: make([]int, len(cands)), shapes: map[string]*shape{}}
	for i := range cands {
		idx.free[i] = max(cands[i].freeBlocks(), 0)
	}
	return idx
}

func (idx *index) shapeFor(j *JobReq) *shape {
	req := effectiveRequirements(j.Requirements, &j.Profile)
	multinode := j.multinode()
	idx.key = appendShapeKey(idx.key[:0], &req, &j.Profile, multinode)
	if sh, ok := idx.shapes[string(idx.key)]; ok {
		return sh
	}
	sh := idx.buildShape(req, &j.Profile, multinode)
	idx.shapes[string(idx.key)] = sh
	return sh
}

func (idx *index) buildShape(req schemas.Requirements, p *schemas.Profile, multinode bool) *shape {
	sh := &shape{req: req, profile: p, fleets: map[string]*fleetList{}, fails: map[string]Assignment{},
		all: fleetList{missCand: -1}}
	for i := range idx.cands {
		c := &idx.cands[i]
		if !eligible(c, p, multinode) {
			continue
		}
		fl := sh.fleets[c.FleetID]
		if fl == nil {
			fl = &fleetList{id: c.FleetID, missCand: -1}
			sh.fleets[c.FleetID] = fl
		}
		fl.eligible++
		sh.all.eligible++
		blocks, m := neededBlocks(&req, c, multinode)
		if m != matched {
			for _, l := range []*fleetList{fl, &sh.all} {
				if l.missCand < 0 {
					l.missCand, l.miss = int32(i), m
				}
			}
			continue
		}
		sh.entries = append(sh.entries, entry{cand: int32(i), blocks: int32(blocks)})
	}
	slices.SortFunc(sh.entries, func(a, b entry) int {
		return cmp.Or(cmpFloat(idx.cands[a.cand].Offer.Price, idx.cands[b.cand].Offer.Price),
			cmp.Compare(a.blocks, b.blocks), cmp.Compare(a.cand, b.cand))
	})
	sh.all.pos = make([]int32, len(sh.entries))
	for p, e := range sh.entries {
		sh.all.pos[p] = int32(p)
		fl := sh.fleets[idx.cands[e.cand].FleetID]
		if len(fl.pos) == 0 {
			sh.fleetOrder = append(sh.fleetOrder, fl)
		}
		fl.pos = append(fl.pos, int32(p))
	}
	var empty []*fleetList
	for _, fl := range sh.fleets {
		if len(fl.pos) == 0 {
			empty = append(empty, fl)
		}
	}
	slices.SortFunc(empty, func(a, b *fleetList) int { return cmp.Compare(a.id, b.id) })
	sh.fleetOrder = append(sh.fleetOrder, empty...)
	return sh
}

func (idx *index) usable(e entry) bool {
	return idx.cands[e.cand].assignable() && idx.free[e.cand] >= int(e.blocks)
}

// next returns the position of the list's best usable offer, skipping (for good) the
// unusable ones in front of it.
func (idx *index) next(sh *shape, fl *fleetList) (int32, bool) {
	for ; fl.cursor < len(fl.pos); fl.cursor++ {
		if p := fl.pos[fl.cursor]; idx.usable(sh.entries[p]) {
			return p, true
		}
	}
	return 0, false
}

// place decides one job that may go to any fleet (fleet == "") or only to the given one.
func (idx *index) place(j *JobReq, fleet string) Assignment {
	sh := idx.shapeFor(j)
	if j.JobNum == 0 && j.Nodes > 1 {
		return idx.placeGang(j, sh, fleet)
	}
	fl := &sh.all
	if fleet != "" {
		if fl = sh.fleets[fleet]; fl == nil {
			return idx.failure(j, sh, fleet)
		}
	}
	if p, ok := idx.next(sh, fl); ok {
		return idx.take(j, sh.entries[p])
	}
	return idx.failure(j, sh, fleet)
}

// placeGang places the master of a multi-node replica: its fleet must have at least Nodes
// instances free as a whole, so that the other jobs of the replica can follow. Among such
// fleets the one with the cheapest usable offer wins.
func (idx *index) placeGang(j *JobReq, sh *shape, fleet string) Assignment {
	lists := sh.fleetOrder
	if fleet != "" {
		lists = nil
		if fl := sh.fleets[fleet]; fl != nil {
			lists = []*fleetList{fl}
		}
	}
	var best *fleetList
	var bestPos int32
	for _, fl := range lists {
		p, ok := idx.next(sh, fl)
		if !ok || idx.countUsable(sh, fl, j.Nodes) < j.Nodes {
			continue
		}
		if best == nil || idx.cands[sh.entries[p].cand].Offer.Price < idx.cands[sh.entries[bestPos].cand].Offer.Price {
			best, bestPos = fl, p
		}
	}
	if best != nil {
		return idx.take(j, sh.entries[bestPos])
	}
	a := idx.failure(j, sh, fleet)
	if a.Cause == CauseBusy || a.Cause == CauseNoMatch {
		a.Cause, a.FleetID, a.Reason = idx.gangFailure(sh, lists, j.Nodes)
		if fleet != "" {
			a.FleetID = fleet
		}
	}
	return a
}

// countUsable counts usable offers from the list's cursor on, stopping at limit.
func (idx *index) countUsable(sh *shape, fl *fleetList, limit int) int {
	n := 0
	for _, p := range fl.pos[fl.cursor:] {
		if idx.usable(sh.entries[p]) {
			if n++; n >= limit {
				break
			}
		}
	}
	return n
}

func (idx *index) take(j *JobReq, e entry) Assignment {
	c := &idx.cands[e.cand]
	idx.free[e.cand] -= int(e.blocks)
	off := makeOffer(c, int(e.blocks), schemas.AvailabilityIdle)
	return Assignment{JobID: j.JobID, Outcome: OutcomeAssigned, FleetID: c.FleetID,
		Choice: Choice{InstanceID: c.InstanceID, FleetID: c.FleetID, Blocks: off.Blocks, Offer: off.InstanceOffer}}
}
