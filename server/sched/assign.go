package sched

import (
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// JobReq is a submitted job waiting for an instance: a snapshot of the job row, its run and
// its job spec.
type JobReq struct {
	JobID      string
	RunID      string
	ReplicaNum int
	JobNum     int
	// Nodes is the replica's jobs_per_replica; above 1 the job is part of a multi-node
	// replica, whose jobs all take whole instances of one cluster fleet.
	Nodes       int
	Priority    int       // the run's priority; higher goes first
	SubmittedAt time.Time // older goes first among equal priorities
	// Requirements come from the job spec; Profile is the run's merged profile.
	Requirements schemas.Requirements
	Profile      schemas.Profile
	// RunFleetID is the fleet the run already landed on, "" when none yet. Every job but the
	// first job of the first replica waits until the run has one.
	RunFleetID string
	// MasterPending is true for a non-master job (job_num > 0) whose replica master has no
	// provisioning data yet; such a job waits unless its master is placed in the same batch.
	MasterPending bool
}

func (j *JobReq) multinode() bool { return j.Nodes > 1 || isMultinode(&j.Requirements) }

// Outcome is what happened to a job in Assign.
type Outcome string

// Outcomes of Assign.
const (
	OutcomeAssigned   Outcome = "assigned"    // the job got an instance and blocks
	OutcomeWait       Outcome = "wait"        // the job must wait (for its master or run fleet)
	OutcomeNoCapacity Outcome = "no_capacity" // no existing instance can take the job now
)

// Cause says why a job was not assigned.
type Cause string

// Causes of OutcomeWait and OutcomeNoCapacity.
const (
	CauseWaitMaster   Cause = "wait_master"    // the replica master has no instance yet
	CauseWaitRunFleet Cause = "wait_run_fleet" // the run has no fleet yet
	// CauseNoFleets: no instance passed the run's fleet filters. The caller fails the job
	// with failed_to_start_due_to_no_capacity and Reason, which reads "No matching fleet
	// found…" (status message "no fleets") unless the profile named fleets.
	CauseNoFleets Cause = "no_fleets"
	CauseNoMatch  Cause = "no_match" // instances were eligible but none satisfies the requirements
	CauseBusy     Cause = "busy"     // matching instances exist but have no free blocks now
)

// Choice is the instance and blocks a job gets.
type Choice struct {
	InstanceID string
	FleetID    string
	Blocks     int
	// Offer has the resources of the chosen blocks, blocks/total_blocks and availability
	// idle; it becomes the job's runtime data offer.
	Offer schemas.InstanceOffer
}

// Assignment is the decision for one job of a batch.
type Assignment struct {
	JobID   string
	Outcome Outcome
	Choice  Choice // when assigned
	// FleetID is the chosen fleet when assigned; for CauseBusy and CauseNoMatch it is the
	// best fleet that could take the job with new capacity ("" if none), which the caller may
	// use to provision a cloud instance (upstream's "new capacity" path).
	FleetID string
	Cause   Cause
	Reason  string // human reason when not assigned
}

// Upstream's messages for jobs that found no fleet.
const (
	msgNoMatchingFleet = "No matching fleet found. Possible reasons: " +
		"https://dstack.ai/docs/guides/troubleshooting/#no-fleets"
	msgSpecifiedFleets = "Failed to use specified fleets"
)

// Assign places a batch of submitted jobs on existing instances without double-booking
// blocks. Jobs go in order of run priority (descending), then submission time (oldest first),
// then run (in order of first appearance), replica and job number. Each job gets the cheapest
// usable offer (fewest blocks on ties, then candidate order).
//
// Runs: every job but the first job of the first replica waits until the run has a fleet
// (RunFleetID, or the fleet an earlier job of the run got in this batch) and goes to that
// fleet only. Multi-node replicas: the master (job_num 0) goes to a cluster fleet with at
// least Nodes instances free as a whole; the other jobs wait for their master and follow it
// into its fleet, each on a whole instance. Jobs whose master or first job is in the same
// batch are placed right after it, whatever their own order.
//
// Assign does not modify cands. Cost: per distinct requirements shape, one pass over the
// candidates; per job, amortised O(1) (a cursor over the shape's sorted offers only moves
// forward, because free blocks only shrink during a batch).
func Assign(jobs []JobReq, cands []Candidate) []Assignment {
	b := newBatch(jobs, cands)
	for _, i := range b.order {
		b.process(i)
	}
	for i, st := range b.state { // defensive: every follower is flushed by the job it follows
		if st == stateUndecided {
			b.decide(i, waitFor(&jobs[i], CauseWaitRunFleet))
		}
	}
	return b.out
}

func waitFor(j *JobReq, c Cause) Assignment {
	reason := "waiting for the run to be assigned to a fleet"
	if c == CauseWaitMaster {
		reason = "waiting for the master job to be provisioned"
	}
	return Assignment{JobID: j.JobID, Outcome: OutcomeWait, Cause: c, Reason: reason}
}
