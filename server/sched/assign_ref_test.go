package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// naiveAssign is the obvious O(jobs × instances) algorithm for single-node jobs of distinct
// runs: in priority/age order, take the best idle offer OffersForJob lists.
func naiveAssign(jobs []JobReq, cands []Candidate) map[string]placement {
	cands = slices.Clone(cands)
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		if jobs[x].Priority != jobs[y].Priority {
			return jobs[y].Priority - jobs[x].Priority
		}
		return jobs[x].SubmittedAt.Compare(jobs[y].SubmittedAt) // ties: input order
	})
	out := map[string]placement{}
	for _, i := range order {
		j := jobs[i]
		offers := OffersForJob(j.Requirements, j.Profile, cands)
		if len(offers) == 0 || offers[0].InstanceOffer.Availability != schemas.AvailabilityIdle {
			out[j.JobID] = placement{Outcome: OutcomeNoCapacity}
			continue
		}
		o := offers[0]
		for k := range cands {
			if cands[k].InstanceID == o.InstanceID {
				cands[k].BusyBlocks += o.Blocks
				cands[k].Status = schemas.InstanceBusy
			}
		}
		out[j.JobID] = assigned(o.InstanceID, o.Blocks)
	}
	return out
}

func randomCluster(rng *rand.Rand, nCands, nJobs int) ([]Candidate, []JobReq) {
	gpuNames := []string{"A100", "H100", "L4"}
	var cands []Candidate
	for i := range nCands {
		gpus := []int{0, 1, 2, 4, 8}[rng.IntN(5)]
		blocks := []int{1, 1, 2, 4, 8}[rng.IntN(5)]
		if gpus > 0 && gpus%blocks != 0 {
			blocks = gpus
		}
		c := cand(fmt.Sprint("i", i), fmt.Sprint("f", rng.IntN(5)),
			host(8*blocks, 32*blocks, gpuNames[rng.IntN(3)], gpus, 40, 500))
		c.Offer.Price = float64(rng.IntN(4))
		c = withBlocks(c, blocks, rng.IntN(blocks+1))
		if rng.IntN(10) == 0 {
			c.Status = schemas.InstanceProvisioning
		}
		cands = append(cands, c)
	}
	var jobs []JobReq
	for i := range nJobs {
		var req schemas.Requirements
		switch rng.IntN(3) {
		case 0:
			req = cpuReq()
		case 1:
			req = gpuReq(1 + rng.IntN(2))
		default:
			req = gpuReq(1+rng.IntN(4), gpuNames[rng.IntN(3)])
		}
		j := job(fmt.Sprint("j", i), fmt.Sprint("r", i), req)
		j.Priority = rng.IntN(3)
		j.SubmittedAt = t0.Add(time.Duration(rng.IntN(100)) * time.Second)
		jobs = append(jobs, j)
	}
	return cands, jobs
}

func TestAssignMatchesNaive(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := newRand(seed)
			cands, jobs := randomCluster(rng, 30, 60)
			got := placements(Assign(jobs, cands))
			for id, p := range got {
				if p.Outcome != OutcomeAssigned {
					got[id] = placement{Outcome: p.Outcome}
				}
			}
			require.Equal(t, naiveAssign(jobs, cands), got)
		})
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
