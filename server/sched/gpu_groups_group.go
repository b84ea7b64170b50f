package sched

import (
	"cmp"
	"slices"

	"github.com/dstackgo/dstack/server/schemas"
)

// GroupGpus aggregates the GPUs of offers (cheapest first, as the plan
// lists them) into the rows of gpus/list: one per GPU model, and per
// backend, region and GPU count as g asks. A row has the availabilities and
// spot kinds of its offers, the range of their GPU counts and of their
// prices per GPU, and the backends it is offered by (Backends), or its
// Backend with that backend's regions, or its Backend and Region. Offers
// without GPUs add nothing but their region. Rows come usable first, then
// by price per GPU (lowest, then highest), backend, region, count, name
// and memory.
func GroupGpus(offers []schemas.InstanceOffer, g GpuGrouping) []schemas.GpuGroup {
	type key struct {
		name, vendor, backend, region string
		mem, count                    int
	}
	var rows []*schemas.GpuGroup
	byKey := map[key]*schemas.GpuGroup{}
	for _, b := range collectBackendGpus(offers) {
		for _, gpu := range b.gpus {
			k := key{name: gpu.name, vendor: gpu.vendor, mem: gpu.memoryMiB}
			if g.Backend {
				k.backend = b.backend
			}
			if g.Region {
				k.region = gpu.region
			}
			if g.Count {
				k.count = gpu.count
			}
			if row := byKey[k]; row != nil {
				addToGpuGroup(row, gpu, b.backend)
				continue
			}
			row := newGpuGroup(gpu)
			switch {
			case !g.Backend:
				row.Backends = []string{b.backend}
			case g.Region:
				row.Backend, row.Region = b.backend, gpu.region
			default:
				row.Backend, row.Regions = b.backend, slices.Clone(b.regions)
			}
			byKey[k] = row
			rows = append(rows, row)
		}
	}
	slices.SortStableFunc(rows, func(a, b *schemas.GpuGroup) int {
		return cmp.Or(cmpBool(!groupAvailable(a), !groupAvailable(b)),
			cmp.Compare(a.Price.Min, b.Price.Min), cmp.Compare(a.Price.Max, b.Price.Max),
			cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Region, b.Region),
			compareIf(g.Count, a.Count.Min, b.Count.Min),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.MemoryMiB, b.MemoryMiB))
	})
	out := make([]schemas.GpuGroup, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out
}

func compareIf(on bool, a, b int) int {
	if !on {
		return 0
	}
	return cmp.Compare(a, b)
}

func spotKind(spot bool) string {
	if spot {
		return schemas.GpuSpot
	}
	return schemas.GpuOnDemand
}

func newGpuGroup(gpu backendGpu) *schemas.GpuGroup {
	per := gpu.price / float64(gpu.count)
	return &schemas.GpuGroup{Name: gpu.name, MemoryMiB: gpu.memoryMiB, Vendor: gpu.vendor,
		Availability: []schemas.OfferAvailability{gpu.availability}, Spot: []string{spotKind(gpu.spot)},
		Count: schemas.GpuCountRange{Min: gpu.count, Max: gpu.count}, Price: schemas.GpuPriceRange{Min: per, Max: per}}
}

// addToGpuGroup widens a row with another configuration of its GPU.
func addToGpuGroup(row *schemas.GpuGroup, gpu backendGpu, backend string) {
	if !slices.Contains(row.Availability, gpu.availability) {
		row.Availability = append(row.Availability, gpu.availability)
	}
	if s := spotKind(gpu.spot); !slices.Contains(row.Spot, s) {
		row.Spot = append(row.Spot, s)
	}
	if row.Backends != nil && !slices.Contains(row.Backends, backend) {
		row.Backends = append(row.Backends, backend)
	}
	row.Count.Min, row.Count.Max = min(row.Count.Min, gpu.count), max(row.Count.Max, gpu.count)
	per := gpu.price / float64(gpu.count)
	row.Price.Min, row.Price.Max = min(row.Price.Min, per), max(row.Price.Max, per)
}

func groupAvailable(g *schemas.GpuGroup) bool {
	return slices.ContainsFunc(g.Availability, schemas.OfferAvailability.Available)
}
