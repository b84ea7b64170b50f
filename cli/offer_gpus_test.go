package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestParseGroupBy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{name: "none", in: nil},
		{name: "comma-separated and repeated", in: []string{"gpu, backend", "region"}, want: []string{"gpu", "backend", "region"}},
		{name: "gpu is required", in: []string{"backend,count"}, wantErr: "cannot group by 'backend, count' without also grouping by 'gpu'"},
		{name: "unknown field", in: []string{"gpu,zone"}, wantErr: `invalid --group-by value "zone": accepted values are gpu, backend, region, count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGroupBy(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestGpuGroupsGrid(t *testing.T) {
	a10g := schemas.GpuGroup{Name: "A10G", MemoryMiB: 24576, Vendor: "nvidia",
		Availability: []schemas.OfferAvailability{"available"}, Spot: []string{"spot", "on-demand"},
		Count: schemas.GpuCountRange{Min: 1, Max: 4}, Price: schemas.GpuPriceRange{Min: 0.4523, Max: 1.212}}
	h100 := schemas.GpuGroup{Name: "H100", MemoryMiB: 81920, Vendor: "nvidia",
		Availability: []schemas.OfferAvailability{"no_quota"}, Spot: []string{"on-demand"},
		Count: schemas.GpuCountRange{Min: 8, Max: 8}, Price: schemas.GpuPriceRange{Min: 12.29, Max: 12.29}}
	render := func(gs ...schemas.GpuGroup) string {
		var b strings.Builder
		require.NoError(t, gpuGroupsGrid(gs).render(&b, 0))
		return b.String()
	}
	for _, tc := range []struct {
		name string
		rows []schemas.GpuGroup
		want string
	}{
		{name: "by GPU: backends with their regions in brackets, unusable rows say why", rows: []schemas.GpuGroup{
			withGroup(a10g, func(g *schemas.GpuGroup) { g.Backends = []string{"aws", "remote"} }),
			withGroup(h100, func(g *schemas.GpuGroup) { g.Backends = []string{"aws"} }),
		}, want: "" +
			"#  GPU             SPOT             $/GPU          BACKENDS\n" +
			"1  A10G:24GB:1..4  spot, on-demand  0.4523..1.212  aws, remote\n" +
			"2  H100:80GB:8     on-demand        12.29          aws          no quota\n"},
		{name: "by backend: the backend's regions, counted past three", rows: []schemas.GpuGroup{
			withGroup(a10g, func(g *schemas.GpuGroup) { g.Backend, g.Regions = "aws", []string{"a", "b", "c", "d"} }),
			withGroup(h100, func(g *schemas.GpuGroup) { g.Backend, g.Regions = "gcp", []string{"x", "y"} }),
		}, want: "" +
			"#  GPU             SPOT             $/GPU          BACKEND  REGIONS\n" +
			"1  A10G:24GB:1..4  spot, on-demand  0.4523..1.212  aws      4 regions\n" +
			"2  H100:80GB:8     on-demand        12.29          gcp      x, y       no quota\n"},
		{name: "by backend and region", rows: []schemas.GpuGroup{
			withGroup(h100, func(g *schemas.GpuGroup) { g.Backend, g.Region = "aws", "us-east-1" }),
		}, want: "" +
			"#  GPU          SPOT       $/GPU  BACKEND  REGION\n" +
			"1  H100:80GB:8  on-demand  12.29  aws      us-east-1  no quota\n"},
		{name: "no GPU offers: the header alone", want: "#  GPU  SPOT  $/GPU  BACKENDS\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, render(tc.rows...))
		})
	}
}

func withGroup(g schemas.GpuGroup, f func(*schemas.GpuGroup)) schemas.GpuGroup {
	f(&g)
	return g
}
