package sched

import (
	"cmp"
	"slices"
)

// batch is the working state of one Assign call. Runs are interned to small integers once,
// so that the per-job bookkeeping is slice indexing rather than string-keyed map lookups.
type batch struct {
	jobs     []JobReq
	out      []Assignment
	state    []jobState
	order    []int // job indexes in processing order
	idx      *index
	run      []int32  // job → run number
	runFleet []string // run number → fleet (snapshot, or where an earlier job went)
	firstJob []int32  // run number → index of its (replica 0, job 0) job in the batch, or -1
	masters  map[replicaKey]int32
	byMaster map[replicaKey][]int // jobs waiting for their replica master in the batch
	byRun    map[int32][]int      // jobs waiting for their run's first job in the batch
}

type replicaKey struct{ run, replica int32 }

type jobState uint8

const (
	stateUndecided jobState = iota
	stateAssigned
	stateDecided
)

// orderKey is what Assign orders jobs by: priority (descending), submission time, run
// (in order of first appearance), replica and job number, then input position.
type orderKey struct {
	at                        int64
	prio                      int
	run, replica, job, jobIdx int32
}

func newBatch(jobs []JobReq, cands []Candidate) *batch {
	n := len(jobs)
	b := &batch{jobs: jobs, out: make([]Assignment, n), state: make([]jobState, n),
		order: make([]int, n), idx: newIndex(cands), run: make([]int32, n),
		masters: make(map[replicaKey]int32), byMaster: map[replicaKey][]int{}, byRun: map[int32][]int{}}
	runs := make(map[string]int32, n)
	keys := make([]orderKey, n)
	for i := range jobs {
		j := &jobs[i]
		r, ok := runs[j.RunID]
		if !ok {
			r = int32(len(b.runFleet))
			runs[j.RunID] = r
			b.runFleet = append(b.runFleet, "")
			b.firstJob = append(b.firstJob, -1)
		}
		b.run[i] = r
		if j.RunFleetID != "" {
			b.runFleet[r] = j.RunFleetID
		}
		if j.JobNum == 0 && j.ReplicaNum == 0 {
			b.firstJob[r] = int32(i)
		} else if j.JobNum == 0 {
			b.masters[replicaKey{r, int32(j.ReplicaNum)}] = int32(i)
		}
		keys[i] = orderKey{at: j.SubmittedAt.UnixNano(), prio: j.Priority, run: r,
			replica: int32(j.ReplicaNum), job: int32(j.JobNum), jobIdx: int32(i)}
	}
	slices.SortFunc(keys, func(a, c orderKey) int {
		if a.prio != c.prio {
			return cmp.Compare(c.prio, a.prio)
		}
		return cmp.Or(cmp.Compare(a.at, c.at), cmp.Compare(a.run, c.run),
			cmp.Compare(a.replica, c.replica), cmp.Compare(a.job, c.job), cmp.Compare(a.jobIdx, c.jobIdx))
	})
	for i, k := range keys {
		b.order[i] = int(k.jobIdx)
	}
	return b
}

// master returns the batch index of the master (job 0) of job i's replica.
func (b *batch) master(i int) (int, bool) {
	r, replica := b.run[i], b.jobs[i].ReplicaNum
	if replica == 0 {
		m := b.firstJob[r]
		return int(m), m >= 0
	}
	m, ok := b.masters[replicaKey{r, int32(replica)}]
	return int(m), ok
}

// process decides job i, unless it has to follow a job of the batch not decided yet, and
// then decides the jobs that were following it.
func (b *batch) process(i int) {
	if b.state[i] != stateUndecided {
		return
	}
	j, r := &b.jobs[i], b.run[i]
	fleet, ready := b.precondition(i, j)
	if !ready {
		return
	}
	b.decide(i, b.idx.place(j, fleet))
	if b.state[i] == stateAssigned && fleet == "" {
		b.runFleet[r] = b.out[i].FleetID
	}
	if j.JobNum == 0 && len(b.byMaster) > 0 {
		rk := replicaKey{r, int32(j.ReplicaNum)}
		followers := b.byMaster[rk]
		delete(b.byMaster, rk)
		for _, f := range followers {
			b.process(f)
		}
	}
	if j.ReplicaNum == 0 && j.JobNum == 0 && len(b.byRun) > 0 {
		followers := b.byRun[r]
		delete(b.byRun, r)
		for _, f := range followers {
			b.process(f)
		}
	}
}

// precondition returns the fleet job i is restricted to ("" = any), or ready = false when
// the job was deferred behind its master or its run's first job, or told to wait.
func (b *batch) precondition(i int, j *JobReq) (fleet string, ready bool) {
	r := b.run[i]
	if j.JobNum > 0 {
		m, inBatch := b.master(i)
		switch {
		case inBatch && b.state[m] == stateUndecided:
			rk := replicaKey{r, int32(j.ReplicaNum)}
			b.byMaster[rk] = append(b.byMaster[rk], i)
			return "", false
		case inBatch && b.state[m] != stateAssigned, !inBatch && j.MasterPending:
			b.decide(i, waitFor(j, CauseWaitMaster))
			return "", false
		}
	}
	fleet = b.runFleet[r]
	if fleet != "" || (j.ReplicaNum == 0 && j.JobNum == 0) {
		return fleet, true
	}
	if first := b.firstJob[r]; first >= 0 && b.state[first] == stateUndecided {
		b.byRun[r] = append(b.byRun[r], i)
	} else {
		b.decide(i, waitFor(j, CauseWaitRunFleet))
	}
	return "", false
}

// decide records job i's assignment. The compact state slice answers "decided yet?" without
// touching the large Assignment values.
func (b *batch) decide(i int, a Assignment) {
	b.out[i] = a
	b.state[i] = stateDecided
	if a.Outcome == OutcomeAssigned {
		b.state[i] = stateAssigned
	}
}
