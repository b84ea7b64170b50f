package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestOffersGolden(t *testing.T) {
	plan := decodeFixture[schemas.RunPlan](t, "run_plan.json")
	jp := plan.JobPlans[0]
	var b strings.Builder
	require.NoError(t, printOffers(&b, 0, jp.Offers, jp.TotalOffers, jp.MaxPrice))
	golden(t, "offers.txt", b.String())
	b.Reset()
	require.NoError(t, printOffers(&b, 0, nil, 0, nil))
	require.Equal(t, noOffersWarning+"\n", b.String())
}

func TestResourceFormats(t *testing.T) {
	r := schemas.Resources{CPUs: 16, MemoryMiB: 65536, Disk: schemas.Disk{SizeMiB: 512000}, Spot: true,
		Gpus: []schemas.Gpu{{Name: "A100", MemoryMiB: 40960}, {Name: "A100", MemoryMiB: 40960}}}
	require.Equal(t, "cpu=16 mem=64GB disk=500GB gpu=A100:40GB:2 (spot)", formatInstanceResources(r, true))
	require.Equal(t, "A100:40GB:2", formatGPUs(r))
	require.Equal(t, "-", formatGPUs(schemas.Resources{}))
	g, err := schemas.ParseGPUSpec("A100:40GB..:2")
	require.NoError(t, err)
	spec := schemas.DefaultResourcesSpec()
	spec.GPU = &g
	require.Equal(t, "cpu=2.. mem=8GB.. disk=100GB.. gpu=A100:40GB..:2", formatRequirements(spec))
	require.Equal(t, "cpu=2.. mem=8GB.. disk=100GB..", formatRequirements(schemas.DefaultResourcesSpec()))
}

// The synthetic task of `dstack offer` (reference §13).
func TestOfferRequest(t *testing.T) {
	f := newFake(t).on("/api/project/main/runs/get_plan", ok("run_plan.json"))
	res := runCLI(t, "", append([]string{"offer", "--gpu", "A100:2", "--max-offers", "10"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "g6.xlarge")
	var body map[string]any
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/runs/get_plan")[0].Body, &body))
	require.Equal(t, true, body["for_offers_only"])
	require.Equal(t, 10.0, body["max_offers"])
	spec := body["run_spec"].(map[string]any)
	for _, k := range []string{"run_name", "repo_id", "repo_data", "repo_code_hash", "configuration_path", "ssh_key_pub"} {
		require.Contains(t, spec, k)
		require.Nil(t, spec[k], k)
	}
	conf := spec["configuration"].(map[string]any)
	require.Equal(t, "scratch", conf["image"])
	require.Equal(t, []any{":"}, conf["commands"])
	require.Equal(t, "root", conf["user"])
	res2 := conf["resources"].(map[string]any)
	require.Equal(t, map[string]any{"arch": nil, "count": map[string]any{"min": 1.0, "max": nil}}, res2["cpu"])
	require.Equal(t, map[string]any{"min": 0.0, "max": nil}, res2["memory"])
	require.Nil(t, res2["disk"])
	gpu := res2["gpu"].(map[string]any)
	require.Equal(t, []any{"A100"}, gpu["name"])
	require.Equal(t, map[string]any{"min": 2.0, "max": 2.0}, gpu["count"])

	res = runCLI(t, "", append([]string{"offer", "--json"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	var out struct {
		Project      string            `json:"project"`
		User         string            `json:"user"`
		Requirements map[string]any    `json:"requirements"`
		Offers       []json.RawMessage `json:"offers"`
		TotalOffers  int               `json:"total_offers"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &out))
	require.Equal(t, "main", out.Project)
	require.Len(t, out.Offers, 3)
	require.Equal(t, 12, out.TotalOffers)
	require.Contains(t, out.Requirements, "resources")

	res = runCLI(t, "", append([]string{"offer", "--gpu", "A100:x:y"}, f.flags()...)...)
	require.Equal(t, 2, res.Code)
	require.Contains(t, res.Stderr, "gpu")
}

func TestStopAndDeleteRequests(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := newFake(t).on("/api/project/main/runs/get", ok(mustJSON(t, runs[2]))).
		on("/api/project/main/runs/stop", ok("null")).
		on("/api/project/main/runs/delete", ok("null"))
	res := runCLI(t, "", append([]string{"stop", "hello", "-x", "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "Aborted\n", res.Stdout)
	requireBody(t, `{"runs_names":["hello"],"abort":true}`, f.requests("/api/project/main/runs/stop")[0].Body)
	res = runCLI(t, "y\n", append([]string{"stop", "hello"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Stopped")
	requireBody(t, `{"runs_names":["hello"],"abort":false}`, f.requests("/api/project/main/runs/stop")[1].Body)

	res = runCLI(t, "", append([]string{"delete", "hello", "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "Run hello deleted\n", res.Stdout)
	requireBody(t, `{"runs_names":["hello"]}`, f.requests("/api/project/main/runs/delete")[0].Body)

	f.on("/api/project/main/runs/get", reply{400, `{"detail":[{"msg":"Run nope not found","code":"resource_not_exists"}]}`})
	for _, verb := range []string{"stop", "delete"} {
		res = runCLI(t, "", append([]string{verb, "nope", "-y"}, f.flags()...)...)
		require.Equal(t, 1, res.Code)
		require.Equal(t, "Error: run nope not found\n", res.Stderr)
	}
}

func TestDeleteFleetFile(t *testing.T) {
	file := writeConf(t, "fleet.dstack.yml", "type: fleet\nname: gpu-fleet\nssh_config:\n  user: ubuntu\n  hosts: [10.0.0.11]\n")
	notFound := reply{400, `{"detail":[{"msg":"Fleet not found","code":"resource_not_exists"}]}`}
	f := newFake(t).on("/api/project/main/fleets/get", ok("fleet_get.json"), ok("fleet_get.json"), notFound).
		on("/api/project/main/fleets/delete", ok("null"))
	res := runCLI(t, "", append([]string{"delete", "-f", file, "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "Fleet gpu-fleet deleted\n", res.Stdout)
	require.Len(t, f.requests("/api/project/main/fleets/get"), 3, "polls until resource_not_exists")
	requireBody(t, `{"names":["gpu-fleet"]}`, f.requests("/api/project/main/fleets/delete")[0].Body)
}
