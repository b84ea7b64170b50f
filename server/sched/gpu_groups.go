package sched

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// GpuGrouping says what gpus/list groups GPUs by, besides the GPU model
// (name, memory, vendor), which it always groups by.
type GpuGrouping struct {
	Backend, Region, Count bool
}

// ParseGpuGroupBy reads gpus/list's group_by: "backend", "region" and
// "count" in any order ("gpu", implied, is accepted too); "region" needs
// "backend".
func ParseGpuGroupBy(fields []string) (GpuGrouping, error) {
	var g GpuGrouping
	for _, f := range fields {
		switch f {
		case "gpu":
		case schemas.GpuGroupByBackend:
			g.Backend = true
		case schemas.GpuGroupByRegion:
			g.Region = true
		case schemas.GpuGroupByCount:
			g.Count = true
		default:
			return g, fmt.Errorf("invalid group_by value %q: accepted values are backend, region and count", f)
		}
	}
	if g.Region && !g.Backend {
		return g, fmt.Errorf("cannot group by 'region' without also grouping by 'backend'")
	}
	return g, nil
}

// backendGpu is one GPU configuration seen in a backend's offers: a model,
// how many of it an offer has, spot or not, and the region. The first offer
// seen with a configuration gives its price and availability (offers come
// cheapest first).
type backendGpu struct {
	name         string
	memoryMiB    int
	vendor       string
	count        int
	spot         bool
	region       string
	price        float64
	availability schemas.OfferAvailability
}

// backendGpus are the GPU configurations of one backend's offers, with the
// regions of all its offers (with GPUs or not).
type backendGpus struct {
	backend string
	gpus    []backendGpu
	regions []string
}

// groupVendor is a GPU's vendor as gpus/list reports it: lower case, NVIDIA
// when the offer does not say.
func groupVendor(g schemas.Gpu) string {
	if g.Vendor == nil || *g.Vendor == "" {
		return string(schemas.GPUVendorNVIDIA)
	}
	return strings.ToLower(*g.Vendor)
}

// collectBackendGpus turns offers into the GPU configurations of each
// backend, backends in the order of their first offer.
func collectBackendGpus(offers []schemas.InstanceOffer) []backendGpus {
	type model struct {
		name   string
		mem    int
		vendor string
	}
	type config struct {
		model
		count  int
		spot   bool
		region string
	}
	var out []backendGpus
	index := map[string]int{}
	seen := map[string]map[config]bool{}
	regions := map[string]map[string]bool{}
	for _, o := range offers {
		i, ok := index[o.Backend]
		if !ok {
			i = len(out)
			index[o.Backend] = i
			out = append(out, backendGpus{backend: o.Backend})
			seen[o.Backend], regions[o.Backend] = map[config]bool{}, map[string]bool{}
		}
		if !regions[o.Backend][o.Region] {
			regions[o.Backend][o.Region] = true
			out[i].regions = append(out[i].regions, o.Region)
		}
		var models []model
		counts := map[model]int{}
		for _, g := range o.Instance.Resources.Gpus {
			m := model{g.Name, g.MemoryMiB, groupVendor(g)}
			if counts[m] == 0 {
				models = append(models, m)
			}
			counts[m]++
		}
		for _, m := range models {
			c := config{m, counts[m], o.Instance.Resources.Spot, o.Region}
			if seen[o.Backend][c] {
				continue
			}
			seen[o.Backend][c] = true
			out[i].gpus = append(out[i].gpus, backendGpu{name: m.name, memoryMiB: m.mem, vendor: m.vendor,
				count: c.count, spot: c.spot, region: c.region, price: o.Price, availability: o.Availability})
		}
	}
	for i := range out {
		slices.Sort(out[i].regions)
		slices.SortStableFunc(out[i].gpus, func(a, b backendGpu) int {
			return cmp.Or(cmpBool(!a.availability.Available(), !b.availability.Available()),
				cmp.Compare(a.vendor, b.vendor), cmp.Compare(a.name, b.name), cmp.Compare(a.memoryMiB, b.memoryMiB))
		})
	}
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}
