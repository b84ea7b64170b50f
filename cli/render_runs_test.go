package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestRunsTableGolden(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "runs_list.json")
	golden(t, "ps.txt", renderString(t, runsGrid(runs, false, goldenNow), 0))
	golden(t, "ps_verbose.txt", renderString(t, runsGrid(runs, true, goldenNow), 0))
	golden(t, "ps_width80.txt", renderString(t, runsGrid(runs, false, goldenNow), 80))
	golden(t, "ps_empty.txt", renderString(t, runsGrid(nil, false, goldenNow), 0))
}

func TestRunPlanGolden(t *testing.T) {
	var b strings.Builder
	plan := decodeFixture[schemas.RunPlan](t, "run_plan.json")
	require.NoError(t, printRunPlan(&b, 0, &plan, false))
	golden(t, "run_plan.txt", b.String())

	b.Reset()
	empty := decodeFixture[schemas.RunPlan](t, "run_plan_no_offers.json")
	require.NoError(t, printRunPlan(&b, 0, &empty, true))
	golden(t, "run_plan_no_fleets.txt", b.String())

	b.Reset()
	require.NoError(t, printRunPlan(&b, 0, &empty, false))
	require.Contains(t, b.String(), noOffersWarning)
}

// requireBody checks a request body against the JSON the official client
// sends (key order and spacing aside; nulls must be present).
func requireBody(t *testing.T, want string, got []byte) {
	t.Helper()
	require.JSONEq(t, want, string(got))
}

func TestPsRequests(t *testing.T) {
	active := `{"project_name":"main","repo_id":null,"username":null,"only_active":true,"include_jobs":true,"job_submissions_limit":1,"prev_submitted_at":null,"prev_run_id":null,"limit":100,"ascending":false}`
	lastOne := `{"project_name":"main","repo_id":null,"username":null,"only_active":false,"include_jobs":true,"job_submissions_limit":1,"prev_submitted_at":null,"prev_run_id":null,"limit":1,"ascending":false}`
	all := `{"project_name":"main","repo_id":null,"username":null,"only_active":false,"include_jobs":true,"job_submissions_limit":1,"prev_submitted_at":null,"prev_run_id":null,"limit":100,"ascending":false}`
	last5 := strings.Replace(lastOne, `"limit":1,`, `"limit":5,`, 1)
	for _, c := range []struct {
		name   string
		args   []string
		first  string
		bodies []string
	}{
		{"active, none: falls back to the last run", nil, "runs_list_empty.json", []string{active, lastOne}},
		{"active", nil, "runs_list.json", []string{active}},
		{"all", []string{"-a"}, "runs_list.json", []string{all}},
		{"last N", []string{"-n", "5"}, "runs_list.json", []string{last5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t).on("/api/runs/list", ok(c.first), ok("runs_list.json"))
			res := runCLI(t, "", append(append([]string{"ps"}, c.args...), f.flags()...)...)
			require.Equal(t, 0, res.Code, res.Stderr)
			reqs := f.requests("/api/runs/list")
			require.Len(t, reqs, len(c.bodies))
			for i, want := range c.bodies {
				requireBody(t, want, reqs[i].Body)
				require.Equal(t, "Bearer tok", reqs[i].Header.Get("Authorization"))
				require.Equal(t, schemas.CompatibleVersion, reqs[i].Header.Get("X-API-VERSION"))
				require.Equal(t, "application/json", reqs[i].Header.Get("Content-Type"))
			}
			require.Contains(t, res.Stdout, "NAME")
			require.Contains(t, res.Stdout, "train")
		})
	}
}

func TestPsJSON(t *testing.T) {
	f := newFake(t).on("/api/runs/list", ok("runs_list.json"))
	res := runCLI(t, "", append([]string{"ps", "--json"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	var out struct {
		Project string            `json:"project"`
		Runs    []json.RawMessage `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &out))
	require.Equal(t, "main", out.Project)
	require.Len(t, out.Runs, 4)

	res = runCLI(t, "", append([]string{"ps", "--json", "-w"}, f.flags()...)...)
	require.Equal(t, 2, res.Code, "--json with --watch is bad usage")
}

func TestRunStatusText(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "runs_list.json")
	byName := map[string]schemas.Run{}
	for _, r := range runs {
		byName[*r.RunSpec.RunName] = r
	}
	require.Equal(t, "exited (1)", runStatusText(byName["finetune"]), "finished runs show the job's message")
	require.Equal(t, "running", runStatusText(byName["train"]))
	require.Equal(t, "submitted", runStatusText(byName["dev"]))
}
