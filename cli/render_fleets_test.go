package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestFleetsTableGolden(t *testing.T) {
	fleets := decodeFixture[[]schemas.Fleet](t, "fleets_list.json")
	golden(t, "fleets.txt", renderString(t, fleetsGrid(fleets, "main", false, goldenNow), 0))
	golden(t, "fleets_verbose.txt", renderString(t, fleetsGrid(fleets, "main", true, goldenNow), 0))
}

func TestFleetPlanGolden(t *testing.T) {
	for _, name := range []string{"fleet_plan_ssh", "fleet_plan_cloud"} {
		var b strings.Builder
		plan := decodeFixture[schemas.FleetPlan](t, name+".json")
		require.NoError(t, printFleetPlan(&b, 0, &plan))
		golden(t, name+".txt", b.String())
	}
}

func TestFleetRequests(t *testing.T) {
	f := newFake(t).
		on("/api/project/main/fleets/list", ok("fleets_list.json")).
		on("/api/project/main/fleets/delete", ok("null")).
		on("/api/project/main/fleets/delete_instances", ok("null"))

	res := runCLI(t, "", append([]string{"fleet"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	requireBody(t, `{"include_imported":true}`, f.requests("/api/project/main/fleets/list")[0].Body)
	require.Contains(t, res.Stdout, "   instance=0")

	f.on("/api/project/main/fleets/get", reply{400, `{"detail":[{"msg":"Fleet nope not found","code":"resource_not_exists"}]}`})
	res = runCLI(t, "", append([]string{"fleet", "get", "nope"}, f.flags()...)...)
	require.Equal(t, 1, res.Code)
	require.Equal(t, "Error: fleet nope not found\n", res.Stderr)
	requireBody(t, `{"name":"nope","id":null}`, f.requests("/api/project/main/fleets/get")[0].Body)

	f.on("/api/project/main/fleets/get", ok("fleet_get.json"))
	res = runCLI(t, "", append([]string{"fleet", "delete", "gpu-fleet", "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "Fleet gpu-fleet deleted\n", res.Stdout)
	requireBody(t, `{"names":["gpu-fleet"]}`, f.requests("/api/project/main/fleets/delete")[0].Body)

	res = runCLI(t, "", append([]string{"fleet", "delete", "gpu-fleet", "-i", "1", "-i", "3", "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	requireBody(t, `{"name":"gpu-fleet","instance_nums":[1,3]}`, f.requests("/api/project/main/fleets/delete_instances")[0].Body)

	res = runCLI(t, "n\n", append([]string{"fleet", "delete", "gpu-fleet"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Delete the fleet gpu-fleet? [y/n]: Exiting...")
	require.Len(t, f.requests("/api/project/main/fleets/delete"), 1, "answering n deletes nothing")
}
