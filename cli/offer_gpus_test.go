package cli

import (
	"encoding/json"
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

// `dstack offer --group-by`: gpus/list with the synthetic task and the
// fields but gpu; --json prints upstream's shape.
func TestOfferGroupByRequest(t *testing.T) {
	f := newFake(t).on("/api/project/main/gpus/list", ok(`{"gpus":[{"name":"A10G","memory_mib":24576,"vendor":"nvidia",`+
		`"availability":["available"],"spot":["on-demand"],"count":{"min":1,"max":4},"price":{"min":1.006,"max":1.418},`+
		`"backend":"aws","region":"us-east-1"}]}`))
	res := runCLI(t, "", append([]string{"offer", "--gpu", "A10G", "--group-by", "gpu,backend", "--group-by", "region"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Regexp(t, `Group by\s+gpu, backend, region\n`, res.Stdout)
	require.Regexp(t, `(?m)^1\s+A10G:24GB:1\.\.4\s+on-demand\s+1\.006\.\.1\.418\s+aws\s+us-east-1\s*$`, res.Stdout)
	var body map[string]any
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/gpus/list")[0].Body, &body))
	require.Equal(t, []any{"backend", "region"}, body["group_by"])
	require.Equal(t, "scratch", body["run_spec"].(map[string]any)["configuration"].(map[string]any)["image"])

	res = runCLI(t, "", append([]string{"offer", "--group-by", "gpu", "--json"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	var out struct {
		Project      string             `json:"project"`
		GroupBy      []string           `json:"group_by"`
		Requirements map[string]any     `json:"requirements"`
		Gpus         []schemas.GpuGroup `json:"gpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &out), res.Stdout)
	require.Equal(t, "main", out.Project)
	require.Equal(t, []string{"gpu"}, out.GroupBy)
	require.Contains(t, out.Requirements, "resources")
	require.Equal(t, "A10G", out.Gpus[0].Name)

	res = runCLI(t, "", append([]string{"offer", "--group-by", "count"}, f.flags()...)...)
	require.Equal(t, 2, res.Code)
	require.Contains(t, res.Stderr, "cannot group by 'count' without also grouping by 'gpu'")
}
