package sched

import "fmt"

// failure is the no-capacity decision for a job of this shape restricted to fleet ("" = any).
// It is cached per shape and fleet: within a batch a shape that found nothing in a fleet
// keeps finding nothing there, because free blocks only shrink.
func (idx *index) failure(j *JobReq, sh *shape, fleet string) Assignment {
	a, ok := sh.fails[fleet]
	if !ok {
		a = idx.describeFailure(sh, fleet)
		sh.fails[fleet] = a
	}
	a.JobID = j.JobID
	return a
}

func (idx *index) describeFailure(sh *shape, fleet string) Assignment {
	a := Assignment{Outcome: OutcomeNoCapacity, FleetID: fleet}
	fl := &sh.all
	if fleet != "" {
		fl = sh.fleets[fleet]
	}
	switch {
	case fleet == "" && sh.all.eligible == 0:
		a.Cause, a.Reason = CauseNoFleets, msgNoMatchingFleet
		if sh.profile.Fleets != nil {
			a.Reason = msgSpecifiedFleets
		}
	case fl == nil || fl.eligible == 0:
		a.Cause, a.Reason = CauseNoMatch, "No instance of the run's fleet can be used"
	case len(fl.pos) == 0:
		c := &idx.cands[fl.missCand]
		a.Cause = CauseNoMatch
		a.Reason = "No instance matches the requirements: " + describe(fl.miss, &sh.req, &c.Offer)
		if fleet == "" {
			a.FleetID = c.FleetID
		}
	default:
		a.Cause, a.Reason = CauseBusy, "All matching instances are busy"
		if fleet == "" {
			a.FleetID = idx.cands[sh.entries[fl.pos[0]].cand].FleetID
		}
	}
	return a
}

// gangFailure explains why no fleet can take a whole multi-node replica now.
func (idx *index) gangFailure(sh *shape, lists []*fleetList, nodes int) (Cause, string, string) {
	for _, fl := range lists {
		if len(fl.pos) >= nodes {
			return CauseBusy, fl.id, fmt.Sprintf("Fewer than %d matching instances are free in the fleet", nodes)
		}
	}
	return CauseNoMatch, "", fmt.Sprintf("No cluster fleet has %d instances matching the requirements", nodes)
}
