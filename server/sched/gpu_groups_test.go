package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// gpuOffer is a cloud offer with n GPUs of one model.
func gpuOffer(backend, region, gpu string, memGB, n int, price float64, spot bool) schemas.InstanceOffer {
	o := host(8, 32, gpu, n, memGB, 100)
	o.Backend, o.Region, o.Price = backend, region, price
	o.Instance.Resources.Spot = spot
	o.Availability = schemas.AvailabilityAvailable
	return o
}

func TestParseGpuGroupBy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    GpuGrouping
		wantErr string
	}{
		{name: "nothing", want: GpuGrouping{}},
		{name: "gpu is implied", in: []string{"gpu"}, want: GpuGrouping{}},
		{name: "all", in: []string{"count", "region", "backend"}, want: GpuGrouping{Backend: true, Region: true, Count: true}},
		{name: "region needs backend", in: []string{"region"}, wantErr: "cannot group by 'region' without also grouping by 'backend'"},
		{name: "unknown field", in: []string{"zone"}, wantErr: `invalid group_by value "zone": accepted values are backend, region and count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGpuGroupBy(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestGroupGpus(t *testing.T) {
	busy := host(4, 16, "A10G", 1, 24, 100)
	busy.Availability = schemas.AvailabilityBusy
	noGPU := gpuOffer("aws", "eu-west-1", "", 0, 0, 0.1, false)
	offers := []schemas.InstanceOffer{
		busy, // an SSH host running a job
		noGPU,
		gpuOffer("aws", "us-east-1", "A10G", 24, 1, 1.0, true),
		gpuOffer("aws", "us-east-1", "A10G", 24, 1, 1.2, false),
		gpuOffer("aws", "us-west-2", "A10G", 24, 4, 6.0, false),
		gpuOffer("aws", "us-east-1", "A10G", 24, 1, 9.9, false), // the same configuration again: ignored
		gpuOffer("gcp", "europe-west4", "A10G", 24, 2, 1.6, false),
		gpuOffer("aws", "us-east-1", "H100", 80, 8, 80, false),
	}
	a10g := func(g schemas.GpuGroup) schemas.GpuGroup {
		g.Name, g.MemoryMiB, g.Vendor = "A10G", 24*1024, "nvidia"
		return g
	}
	h100 := schemas.GpuGroup{Name: "H100", MemoryMiB: 80 * 1024, Vendor: "nvidia",
		Availability: []schemas.OfferAvailability{"available"}, Spot: []string{"on-demand"},
		Count: schemas.GpuCountRange{Min: 8, Max: 8}, Price: schemas.GpuPriceRange{Min: 10, Max: 10}}
	av := []schemas.OfferAvailability{"available"}
	od := []string{"on-demand"}
	for _, tc := range []struct {
		name string
		by   GpuGrouping
		want []schemas.GpuGroup
	}{
		{name: "by GPU only: one row per model, every backend", want: []schemas.GpuGroup{
			a10g(schemas.GpuGroup{Availability: []schemas.OfferAvailability{"busy", "available"},
				Spot: []string{"on-demand", "spot"}, Count: schemas.GpuCountRange{Min: 1, Max: 4},
				Price: schemas.GpuPriceRange{Min: 0, Max: 1.5}, Backends: []string{"remote", "aws", "gcp"}}),
			withBackends(h100, "aws"),
		}},
		{name: "by backend: the backend's regions", by: GpuGrouping{Backend: true}, want: []schemas.GpuGroup{
			a10g(schemas.GpuGroup{Availability: av, Spot: od, Count: schemas.GpuCountRange{Min: 2, Max: 2},
				Price: schemas.GpuPriceRange{Min: 0.8, Max: 0.8}, Backend: "gcp", Regions: []string{"europe-west4"}}),
			a10g(schemas.GpuGroup{Availability: av, Spot: []string{"spot", "on-demand"}, Count: schemas.GpuCountRange{Min: 1, Max: 4},
				Price: schemas.GpuPriceRange{Min: 1, Max: 1.5}, Backend: "aws", Regions: []string{"eu-west-1", "us-east-1", "us-west-2"}}),
			withRegions(h100, "aws", "eu-west-1", "us-east-1", "us-west-2"),
			// busy is not usable (upstream's is_available): last whatever its price
			a10g(schemas.GpuGroup{Availability: []schemas.OfferAvailability{"busy"}, Spot: od,
				Count: schemas.GpuCountRange{Min: 1, Max: 1}, Backend: "remote", Regions: []string{"remote"}}),
		}},
		{name: "by backend and region", by: GpuGrouping{Backend: true, Region: true}, want: []schemas.GpuGroup{
			a10g(schemas.GpuGroup{Availability: av, Spot: od, Count: schemas.GpuCountRange{Min: 2, Max: 2},
				Price: schemas.GpuPriceRange{Min: 0.8, Max: 0.8}, Backend: "gcp", Region: "europe-west4"}),
			a10g(schemas.GpuGroup{Availability: av, Spot: []string{"spot", "on-demand"}, Count: schemas.GpuCountRange{Min: 1, Max: 1},
				Price: schemas.GpuPriceRange{Min: 1, Max: 1.2}, Backend: "aws", Region: "us-east-1"}),
			a10g(schemas.GpuGroup{Availability: av, Spot: od, Count: schemas.GpuCountRange{Min: 4, Max: 4},
				Price: schemas.GpuPriceRange{Min: 1.5, Max: 1.5}, Backend: "aws", Region: "us-west-2"}),
			withRegion(h100, "aws", "us-east-1"),
			a10g(schemas.GpuGroup{Availability: []schemas.OfferAvailability{"busy"}, Spot: od,
				Count: schemas.GpuCountRange{Min: 1, Max: 1}, Backend: "remote", Region: "remote"}),
		}},
		{name: "by count: ordered by price, then count", by: GpuGrouping{Count: true}, want: []schemas.GpuGroup{
			a10g(schemas.GpuGroup{Availability: []schemas.OfferAvailability{"busy", "available"}, Spot: []string{"on-demand", "spot"},
				Count: schemas.GpuCountRange{Min: 1, Max: 1}, Price: schemas.GpuPriceRange{Min: 0, Max: 1.2}, Backends: []string{"remote", "aws"}}),
			a10g(schemas.GpuGroup{Availability: av, Spot: od, Count: schemas.GpuCountRange{Min: 2, Max: 2},
				Price: schemas.GpuPriceRange{Min: 0.8, Max: 0.8}, Backends: []string{"gcp"}}),
			a10g(schemas.GpuGroup{Availability: av, Spot: od, Count: schemas.GpuCountRange{Min: 4, Max: 4},
				Price: schemas.GpuPriceRange{Min: 1.5, Max: 1.5}, Backends: []string{"aws"}}),
			withBackends(h100, "aws"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, GroupGpus(offers, tc.by))
		})
	}

	t.Run("offers without GPUs give no rows", func(t *testing.T) {
		require.Empty(t, GroupGpus([]schemas.InstanceOffer{noGPU, host(2, 4, "", 0, 0, 10)}, GpuGrouping{Backend: true}))
	})
	t.Run("unusable rows come last whatever their price", func(t *testing.T) {
		full := gpuOffer("aws", "us-east-1", "L4", 24, 1, 0.1, false)
		full.Availability = schemas.AvailabilityNoQuota
		got := GroupGpus([]schemas.InstanceOffer{full, gpuOffer("aws", "us-east-1", "T4", 16, 1, 0.5, false)}, GpuGrouping{})
		require.Equal(t, []string{"T4", "L4"}, []string{got[0].Name, got[1].Name})
	})
	t.Run("vendor from the offer, lower case", func(t *testing.T) {
		o := gpuOffer("aws", "us-east-1", "MI300X", 192, 8, 40, false)
		for i := range o.Instance.Resources.Gpus {
			o.Instance.Resources.Gpus[i].Vendor = ptr("AMD")
		}
		require.Equal(t, "amd", GroupGpus([]schemas.InstanceOffer{o}, GpuGrouping{})[0].Vendor)
	})
}

func withBackends(g schemas.GpuGroup, backends ...string) schemas.GpuGroup {
	g.Backends = backends
	return g
}

func withRegions(g schemas.GpuGroup, backend string, regions ...string) schemas.GpuGroup {
	g.Backend, g.Regions = backend, regions
	return g
}

func withRegion(g schemas.GpuGroup, backend, region string) schemas.GpuGroup {
	g.Backend, g.Region = backend, region
	return g
}
