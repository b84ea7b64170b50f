package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// benchCluster builds nInst instances in 50 fleets (every fifth a cluster fleet): CPU hosts,
// 8×H100 hosts split into 8 blocks, whole 1×L4 and 2×A100 hosts, a fifth of them partly busy,
// and nJobs submitted jobs of a dozen requirement shapes: single-node runs, services whose
// later replicas follow the run's fleet, and 2–4 node multi-node runs (about 3% of jobs).
func benchCluster(nInst, nJobs int) ([]Candidate, []JobReq) {
	rng := rand.New(rand.NewPCG(1, 2))
	cands := make([]Candidate, 0, nInst)
	for i := range nInst {
		fleet := fmt.Sprint("fleet-", i%50)
		var c Candidate
		switch i % 4 {
		case 0:
			c = cand(fmt.Sprint("i", i), fleet, host(32, 128, "", 0, 0, 500))
		case 1:
			c = withBlocks(cand(fmt.Sprint("i", i), fleet, host(192, 2048, "H100", 8, 80, 4000)), 8, 0)
		case 2:
			c = cand(fmt.Sprint("i", i), fleet, host(8, 32, "L4", 1, 24, 200))
		default:
			c = cand(fmt.Sprint("i", i), fleet, host(32, 256, "A100", 2, 80, 1000))
		}
		c.ClusterPlacement = i%50%5 == 0
		c.Offer.Price = float64(rng.IntN(20)) / 4
		if rng.IntN(5) == 0 {
			c = withBlocks(c, c.TotalBlocks, rng.IntN(c.TotalBlocks)+1)
		}
		cands = append(cands, c)
	}
	shapes := []schemas.Requirements{cpuReq(), gpuReq(1), gpuReq(2), gpuReq(4), gpuReq(8),
		gpuReq(1, "L4"), gpuReq(2, "A100"), gpuReq(1, "H100", "A100"), gpuReq(16)}
	big := cpuReq()
	big.Resources.CPU.Count = schemas.RangeAtLeast(64)
	shapes = append(shapes, big)
	jobs := make([]JobReq, 0, nJobs)
	for run := 0; len(jobs) < nJobs; run++ {
		id := fmt.Sprint("run-", run)
		req := shapes[rng.IntN(len(shapes))]
		base := job("", id, req)
		base.Priority = rng.IntN(3)
		base.SubmittedAt = t0.Add(time.Duration(rng.IntN(3600)) * time.Second)
		switch k := rng.IntN(100); {
		case k < 3: // multi-node run
			base.Requirements, base.Nodes = gpuReq(8), 2+rng.IntN(3)
			base.Requirements.Multinode = ptr(true)
			for n := 0; n < base.Nodes && len(jobs) < nJobs; n++ {
				j := base
				j.JobID, j.JobNum = fmt.Sprint(id, "-0-", n), n
				jobs = append(jobs, j)
			}
		case k < 13: // service with replicas; half already on a fleet
			if rng.IntN(2) == 0 {
				base.RunFleetID = fmt.Sprint("fleet-", rng.IntN(50))
			}
			for r := 0; r < 3 && len(jobs) < nJobs; r++ {
				j := base
				j.JobID, j.ReplicaNum = fmt.Sprint(id, "-", r, "-0"), r
				jobs = append(jobs, j)
			}
		default:
			base.JobID = id + "-0-0"
			jobs = append(jobs, base)
		}
	}
	return cands, jobs
}

func BenchmarkAssign10000x1000(b *testing.B) {
	cands, jobs := benchCluster(1000, 10000)
	var counts map[Outcome]int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out := Assign(jobs, cands)
		counts = map[Outcome]int{}
		for _, a := range out {
			counts[a.Outcome]++
		}
	}
	b.ReportMetric(float64(counts[OutcomeAssigned]), "assigned")
	b.ReportMetric(float64(counts[OutcomeNoCapacity]), "no_capacity")
	b.ReportMetric(float64(counts[OutcomeWait]), "wait")
}

// BenchmarkOffersForJob1000 is the per-job cost of the obvious approach (list every
// instance's offer for each job), for comparison with Assign's per-job cost.
func BenchmarkOffersForJob1000(b *testing.B) {
	cands, _ := benchCluster(1000, 0)
	req := gpuReq(2)
	b.ReportAllocs()
	for b.Loop() {
		OffersForJob(req, schemas.Profile{}, cands)
	}
}
