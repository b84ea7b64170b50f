package sched

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// cloud returns a catalog offer of backend in region with a configurable disk (size 0).
func cloud(backend, region, name string, price float64, cpus, memGB int, gpuName string, gpus int, spot bool) schemas.InstanceOffer {
	o := host(cpus, memGB, gpuName, gpus, 24, 0)
	o.Backend, o.Region, o.Price, o.Instance.Name = backend, region, price, name
	o.Instance.Resources.Spot = spot
	o.Availability = schemas.AvailabilityUnknown
	return o
}

func names(offers []schemas.InstanceOffer) []string {
	var out []string
	for _, o := range offers {
		out = append(out, fmt.Sprintf("%s/%s/%s", o.Backend, o.Region, o.Instance.Name))
	}
	return out
}

func TestBackendOffers(t *testing.T) {
	catalog := []schemas.InstanceOffer{
		cloud("aws", "us-east-1", "c5.4xlarge", 0.68, 16, 32, "", 0, false),
		cloud("aws", "us-east-1", "t3.large", 0.0832, 2, 8, "", 0, false),
		cloud("aws", "eu-west-1", "t3.large", 0.0912, 2, 8, "", 0, false),
		cloud("aws", "us-east-1", "g5.xlarge", 1.006, 4, 16, "A10G", 1, false),
		cloud("aws", "us-east-1", "g5.xlarge", 0.45, 4, 16, "A10G", 1, true),
		cloud("gcp", "us-central1", "g2-standard-4", 0.71, 4, 16, "L4", 1, false),
	}
	disks := map[string]DiskRange{"aws": {Min: 100, Max: 16384}, "gcp": {Min: 10}}
	profile := func(mod func(*schemas.Profile)) schemas.Profile {
		p := schemas.Profile{Name: "default"}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	onDemand := schemas.SpotPolicyOnDemand
	tests := []struct {
		name string
		cs   []Constraint
		want []string
		disk int // GB of the first offer
	}{
		{
			name: "cpu job: cheapest first, spot excluded by the requirements",
			cs:   []Constraint{{Requirements: cpuReq(), Profile: profile(nil)}},
			want: []string{"aws/us-east-1/t3.large", "aws/eu-west-1/t3.large", "aws/us-east-1/c5.4xlarge",
				"gcp/us-central1/g2-standard-4", "aws/us-east-1/g5.xlarge"},
			disk: 100,
		},
		{
			name: "gpu filter by name, any spot",
			cs: []Constraint{{Requirements: func() schemas.Requirements {
				r := gpuReq(1, "A10G")
				r.Spot = nil
				return r
			}(), Profile: profile(nil)}},
			want: []string{"aws/us-east-1/g5.xlarge", "aws/us-east-1/g5.xlarge"},
		},
		{
			name: "profile regions, backends and max price; fleet constraint narrows further",
			cs: []Constraint{
				{Requirements: cpuReq(), Profile: profile(func(p *schemas.Profile) { p.Backends = []string{"aws"}; p.MaxPrice = ptr(0.7) })},
				{Requirements: schemas.Requirements{Resources: schemas.DefaultResourcesSpec()},
					Profile: profile(func(p *schemas.Profile) { p.Regions = []string{"us-east-1"}; p.SpotPolicy = &onDemand })},
			},
			want: []string{"aws/us-east-1/t3.large", "aws/us-east-1/c5.4xlarge"},
		},
		{
			name: "disk beyond the backend's range",
			cs: []Constraint{{Requirements: func() schemas.Requirements {
				r := cpuReq()
				r.Resources.Disk = &schemas.DiskSpec{Size: schemas.RangeAtLeast[schemas.Memory](20000)}
				return r
			}(), Profile: profile(nil)}},
			want: []string{"gcp/us-central1/g2-standard-4"},
			disk: 20000,
		},
		{
			name: "instance types",
			cs: []Constraint{{Requirements: cpuReq(),
				Profile: profile(func(p *schemas.Profile) { p.InstanceTypes = []string{"C5.4XLARGE"} })}},
			want: []string{"aws/us-east-1/c5.4xlarge"},
			disk: 100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BackendOffers(NewOfferIndex(catalog), tt.cs, disks)
			require.Equal(t, tt.want, names(got))
			if tt.disk != 0 {
				require.Equal(t, tt.disk*1024, got[0].Instance.Resources.Disk.SizeMiB)
			}
		})
	}
	require.Zero(t, catalog[0].Instance.Resources.Disk.SizeMiB, "the catalog's offers are not modified")
}

// BenchmarkBackendOffers filters a 1,000-type catalog in 20 regions, on-demand and spot
// (40,000 offers), for an 8-GPU job.
func BenchmarkBackendOffers(b *testing.B) {
	gpus := []string{"", "T4", "L4", "A10G", "A100", "H100"}
	var offers []schemas.InstanceOffer
	for r := range 20 {
		for i := range 1000 {
			for _, spot := range []bool{false, true} {
				g := gpus[i%len(gpus)]
				n := 0
				if g != "" {
					n = 1 << (i % 4)
				}
				offers = append(offers, cloud("aws", fmt.Sprint("region-", r), fmt.Sprint("type-", i),
					float64(i%97)/7, 2<<(i%6), 8<<(i%5), g, n, spot))
			}
		}
	}
	cs := []Constraint{{Requirements: func() schemas.Requirements {
		req := gpuReq(8, "H100")
		req.Spot = nil
		return req
	}(), Profile: schemas.Profile{Name: "default"}}}
	disks := map[string]DiskRange{"aws": {Min: 100, Max: 16384}}
	idx := NewOfferIndex(offers)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(BackendOffers(idx, cs, disks))
	}
	b.ReportMetric(float64(n), "offers")
}
