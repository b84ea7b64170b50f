package sched

import (
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

var t0 = time.Date(2026, 8, 21, 13, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// host returns a whole-instance offer: cpus, memory GB, GPUs of one model, disk GB.
func host(cpus, memGB int, gpuName string, gpus, gpuMemGB int, diskGB int) schemas.InstanceOffer {
	res := schemas.Resources{CPUs: cpus, MemoryMiB: memGB * 1024, Gpus: []schemas.Gpu{},
		Disk: schemas.Disk{SizeMiB: diskGB * 1024}}
	for range gpus {
		res.Gpus = append(res.Gpus, schemas.Gpu{Name: gpuName, MemoryMiB: gpuMemGB * 1024})
	}
	return schemas.InstanceOffer{Backend: "remote", Region: "remote", Price: 0,
		Instance:        schemas.InstanceType{Name: "instance", Resources: res},
		InstanceRuntime: "shim", Blocks: 1, TotalBlocks: 1}
}

// cand returns an idle instance of fleet with the offer, one block.
func cand(id, fleet string, offer schemas.InstanceOffer) Candidate {
	return Candidate{InstanceID: id, InstanceName: fleet + "-" + id, FleetID: fleet, FleetName: fleet,
		FleetProject: "main", Status: schemas.InstanceIdle, Offer: offer, TotalBlocks: 1}
}

func withBlocks(c Candidate, total, busy int) Candidate {
	c.TotalBlocks, c.BusyBlocks = total, busy
	if busy > 0 {
		c.Status = schemas.InstanceBusy
	}
	return c
}

func priced(c Candidate, price float64) Candidate {
	c.Offer.Price = price
	return c
}

// cpuReq is the default resources (2.. CPUs, 8GB.. memory, 100GB.. disk, gpu 0..) as the
// server sees them after defaults (vendor nvidia for default images).
func cpuReq() schemas.Requirements {
	r := schemas.DefaultResourcesSpec().WithServerDefaults(false)
	return schemas.Requirements{Resources: r, Spot: ptr(false)}
}

// gpuReq asks for count GPUs (exactly), optionally by name.
func gpuReq(count int, names ...string) schemas.Requirements {
	r := cpuReq()
	g := schemas.GPUSpec{Count: schemas.RangeExactly(count), Name: names}
	v := schemas.GPUVendorNVIDIA
	g.Vendor = &v
	r.Resources.GPU = &g
	return r
}

func job(id, run string, req schemas.Requirements) JobReq {
	return JobReq{JobID: id, RunID: run, Nodes: 1, SubmittedAt: t0, Requirements: req,
		Profile: schemas.Profile{Name: "default"}}
}
