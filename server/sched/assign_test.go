package sched

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// placement is what these tests compare: per job, outcome, instance and blocks, or cause.
type placement struct {
	Outcome  Outcome
	Instance string
	Blocks   int
	Cause    Cause
}

func placements(as []Assignment) map[string]placement {
	out := map[string]placement{}
	for _, a := range as {
		out[a.JobID] = placement{a.Outcome, a.Choice.InstanceID, a.Choice.Blocks, a.Cause}
	}
	return out
}

func assigned(instance string, blocks int) placement {
	return placement{Outcome: OutcomeAssigned, Instance: instance, Blocks: blocks}
}

func noCapacity(c Cause) placement { return placement{Outcome: OutcomeNoCapacity, Cause: c} }
func waiting(c Cause) placement    { return placement{Outcome: OutcomeWait, Cause: c} }

func TestAssign(t *testing.T) {
	h100x8 := host(64, 512, "H100", 8, 80, 2000)
	split := withBlocks(cand("s", "f", h100x8), 8, 0)
	small := cand("small", "f", host(4, 16, "", 0, 0, 200))
	big := priced(cand("big", "g", host(32, 128, "", 0, 0, 200)), 1)
	cluster := func(id, fleet string) Candidate {
		c := cand(id, fleet, h100x8)
		c.ClusterPlacement = true
		return c
	}
	later := func(j JobReq, d time.Duration) JobReq { j.SubmittedAt = j.SubmittedAt.Add(d); return j }
	prio := func(j JobReq, p int) JobReq { j.Priority = p; return j }
	node := func(id, run string, num, nodes int) JobReq {
		j := job(id, run, gpuReq(8))
		j.JobNum, j.Nodes = num, nodes
		return j
	}
	inFleet := func(j JobReq, fleet string) JobReq { j.RunFleetID = fleet; return j }

	tests := []struct {
		name  string
		jobs  []JobReq
		cands []Candidate
		want  map[string]placement
	}{
		{"blocks are not double-booked",
			[]JobReq{job("a", "r1", gpuReq(4)), job("b", "r2", gpuReq(4)), job("c", "r3", gpuReq(4))},
			[]Candidate{split},
			map[string]placement{"a": assigned("s", 4), "b": assigned("s", 4), "c": noCapacity(CauseBusy)}},
		{"small and large shapes share an instance",
			[]JobReq{job("a", "r1", gpuReq(1)), later(job("b", "r2", gpuReq(4)), 1), later(job("c", "r3", gpuReq(4)), 2)},
			[]Candidate{split},
			map[string]placement{"a": assigned("s", 1), "b": assigned("s", 4), "c": noCapacity(CauseBusy)}},
		{"higher priority first",
			[]JobReq{job("old", "r1", cpuReq()), prio(later(job("vip", "r2", cpuReq()), time.Hour), 10)},
			[]Candidate{small},
			map[string]placement{"vip": assigned("small", 1), "old": noCapacity(CauseBusy)}},
		{"oldest first",
			[]JobReq{later(job("new", "r1", cpuReq()), time.Minute), job("old", "r2", cpuReq())},
			[]Candidate{small},
			map[string]placement{"old": assigned("small", 1), "new": noCapacity(CauseBusy)}},
		{"cheapest first, then the next",
			[]JobReq{job("a", "r1", cpuReq()), later(job("b", "r2", cpuReq()), 1)},
			[]Candidate{big, small},
			map[string]placement{"a": assigned("small", 1), "b": assigned("big", 1)}},
		{"no candidates means no fleets",
			[]JobReq{job("a", "r1", cpuReq())}, nil,
			map[string]placement{"a": noCapacity(CauseNoFleets)}},
		{"nothing fits",
			[]JobReq{job("a", "r1", gpuReq(1))}, []Candidate{small},
			map[string]placement{"a": noCapacity(CauseNoMatch)}},
		{"non-first jobs wait for the run's fleet",
			[]JobReq{func() JobReq { j := job("a", "r1", cpuReq()); j.ReplicaNum = 1; return j }()},
			[]Candidate{small},
			map[string]placement{"a": waiting(CauseWaitRunFleet)}},
		{"run fleet restricts the choice",
			[]JobReq{inFleet(func() JobReq { j := job("a", "r1", cpuReq()); j.ReplicaNum = 1; return j }(), "g")},
			[]Candidate{small, big},
			map[string]placement{"a": assigned("big", 1)}},
		{"replicas follow the first job's fleet in the same batch",
			[]JobReq{func() JobReq { j := job("r1-1", "r1", cpuReq()); j.ReplicaNum = 1; return j }(),
				later(job("r1-0", "r1", cpuReq()), time.Minute), job("other", "r2", cpuReq())},
			[]Candidate{small, big, priced(cand("small2", "f", host(4, 16, "", 0, 0, 200)), 0.1)},
			map[string]placement{"other": assigned("small", 1), "r1-0": assigned("small2", 1), "r1-1": noCapacity(CauseBusy)}},
		{"multi-node replica lands in one cluster fleet with room for all nodes",
			[]JobReq{node("w2", "mn", 2, 3), node("w1", "mn", 1, 3), later(node("m", "mn", 0, 3), time.Hour)},
			[]Candidate{cluster("a1", "A"), cluster("a2", "A"), priced(cluster("b1", "B"), 1),
				priced(cluster("b2", "B"), 1), priced(cluster("b3", "B"), 1), split},
			map[string]placement{"m": assigned("b1", 1), "w1": assigned("b2", 1), "w2": assigned("b3", 1)}},
		{"multi-node without room: master no capacity, workers wait",
			[]JobReq{node("m", "mn", 0, 3), node("w1", "mn", 1, 3), node("w2", "mn", 2, 3)},
			[]Candidate{cluster("a1", "A"), cluster("a2", "A")},
			map[string]placement{"m": noCapacity(CauseNoMatch), "w1": waiting(CauseWaitMaster), "w2": waiting(CauseWaitMaster)}},
		{"multi-node ignores non-cluster fleets",
			[]JobReq{node("m", "mn", 0, 2)}, []Candidate{cand("x", "f", h100x8), cand("y", "f", h100x8)},
			map[string]placement{"m": noCapacity(CauseNoFleets)}},
		{"worker whose master is not provisioned waits",
			[]JobReq{func() JobReq { j := inFleet(node("w", "mn", 1, 2), "A"); j.MasterPending = true; return j }()},
			[]Candidate{cluster("a1", "A")},
			map[string]placement{"w": waiting(CauseWaitMaster)}},
		{"late worker joins the run's fleet",
			[]JobReq{inFleet(node("w", "mn", 1, 2), "A")},
			[]Candidate{priced(cluster("b1", "B"), 0), priced(cluster("a1", "A"), 5)},
			map[string]placement{"w": assigned("a1", 1)}},
		{"multi-node takes whole shared instances",
			[]JobReq{node("m", "mn", 0, 2), node("w", "mn", 1, 2)},
			[]Candidate{func() Candidate { c := withBlocks(cluster("a1", "A"), 8, 1); return c }(),
				withBlocks(cluster("a2", "A"), 8, 0), withBlocks(cluster("a3", "A"), 8, 0)},
			map[string]placement{"m": assigned("a2", 8), "w": assigned("a3", 8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, placements(Assign(tt.jobs, tt.cands)))
		})
	}
}

func TestAssignReasons(t *testing.T) {
	small := cand("small", "f", host(4, 16, "", 0, 0, 200))
	named := job("a", "r1", cpuReq())
	named.Profile.Fleets = []schemas.EntityReference{{Name: "nope"}}
	tests := []struct {
		name   string
		job    JobReq
		cands  []Candidate
		reason string
		fleet  string
	}{
		{"no fleet", job("a", "r1", cpuReq()), nil, msgNoMatchingFleet, ""},
		{"named fleets", named, []Candidate{small}, msgSpecifiedFleets, ""},
		{"no match", job("a", "r1", gpuReq(2)), []Candidate{small},
			"No instance matches the requirements: needs nvidia GPU, instance has none", "f"},
		{"busy", job("a", "r1", cpuReq()), []Candidate{withBlocks(small, 1, 1)}, "All matching instances are busy", "f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Assign([]JobReq{tt.job}, tt.cands)[0]
			require.Equal(t, OutcomeNoCapacity, a.Outcome)
			require.Equal(t, tt.reason, a.Reason)
			require.Equal(t, tt.fleet, a.FleetID)
			require.Equal(t, "a", a.JobID)
		})
	}
}

func TestAssignOneJobToSharedInstance(t *testing.T) {
	split := withBlocks(cand("s", "f", host(64, 512, "H100", 8, 80, 2000)), 8, 3)
	before := split
	a := Assign([]JobReq{job("a", "r1", gpuReq(2))}, []Candidate{split})[0]
	require.Equal(t, OutcomeAssigned, a.Outcome)
	choice := a.Choice
	require.Equal(t, "s", choice.InstanceID)
	require.Equal(t, "f", choice.FleetID)
	require.Equal(t, 2, choice.Blocks)
	require.Equal(t, 16, choice.Offer.Instance.Resources.CPUs)
	require.Equal(t, schemas.AvailabilityIdle, choice.Offer.Availability)
	require.Equal(t, before, split, "candidates are not modified")

	a = Assign([]JobReq{job("a", "r1", gpuReq(8))}, []Candidate{split})[0]
	require.Equal(t, OutcomeNoCapacity, a.Outcome)
	require.Equal(t, CauseBusy, a.Cause)
}

func TestAssignLeavesInputsAlone(t *testing.T) {
	rng := newRand(3)
	cands, jobs := randomCluster(rng, 20, 40)
	candsBefore := cloneCands(cands)
	jobsBefore := append([]JobReq(nil), jobs...)
	out := Assign(jobs, cands)
	require.Equal(t, candsBefore, cands)
	require.Equal(t, jobsBefore, jobs)
	for _, a := range out {
		if a.Outcome == OutcomeAssigned && len(a.Choice.Offer.Instance.Resources.Gpus) > 0 {
			a.Choice.Offer.Instance.Resources.Gpus[0].Name = "changed"
		}
	}
	require.Equal(t, candsBefore, cands, "results do not alias the candidates")
}

func cloneCands(cands []Candidate) []Candidate {
	out := append([]Candidate(nil), cands...)
	for i := range out {
		out[i].Offer.Instance.Resources.Gpus = slices.Clone(cands[i].Offer.Instance.Resources.Gpus)
	}
	return out
}
