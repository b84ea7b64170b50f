package cli_test

// Runs through the official CLI: tasks attached and detached, a service, a
// dev environment, and the verbs that look at or end them.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// officialRun is what runs/get says of a run.
type officialRun struct {
	Status              string `json:"status"`
	LatestJobSubmission *struct {
		Status     string `json:"status"`
		ExitStatus *int   `json:"exit_status"`
	} `json:"latest_job_submission"`
}

// runStatus reads a run's status through the API (no CLI start-up).
func (e *officialEnv) runStatus(t testing.TB, project, name string) officialRun {
	t.Helper()
	var r officialRun
	st := api(t, e.Server.URL, e.Server.Token, "/api/project/"+project+"/runs/get", map[string]any{"run_name": name}, &r)
	require.Equal(t, 200, st, "runs/get %s", name)
	return r
}

// waitRun waits until the run has one of statuses.
func (e *officialEnv) waitRun(t testing.TB, project, name string, statuses ...string) officialRun {
	t.Helper()
	var r officialRun
	waitFor(t, fmt.Sprintf("run %s %v", name, statuses), func() (bool, string) {
		r = e.runStatus(t, project, name)
		for _, s := range statuses {
			if r.Status == s {
				return true, r.Status
			}
		}
		return false, r.Status
	})
	return r
}

func testOfficialRunVerbs(t *testing.T, env *officialEnv) {
	hosts := make([]*sshtest.Host, 5) // the service needs a second one while it rolls
	for i := range hosts {
		hosts[i] = sshtest.NewHost(t, sshtest.Options{})
	}
	env.CLI(t).ApplyFleet("runs", hosts)

	t.Run("jobs", func(t *testing.T) {
		t.Run("a short task attached prints its logs and exits 0", func(t *testing.T) {
			t.Parallel()
			c := env.CLI(t)
			path := c.WriteFile("hi.dstack.yml", "type: task\nname: hi\ncommands:\n  - echo hi\n"+taskResources)
			r := c.Want(0, "apply", "-f", path, "-y")
			require.Contains(t, r.Stdout, "hi provisioning completed (running)")
			require.Contains(t, r.Stdout, "\nhi\n", "the job's output")
			require.Contains(t, r.Stdout, "Exited (0)")
			require.Equal(t, "done", env.runStatus(t, "main", "hi").Status)
			c.Check(c.Run("event", "--within-run", "hi"), 0,
				"[👤admin] [run hi] Run submitted. Status: SUBMITTED",
				"[👤admin] [job hi-0-0] Job created on run submission. Status: SUBMITTED",
				"[job hi-0-0] Job status changed SUBMITTED -> PROVISIONING",
				"[job hi-0-0] Job status changed RUNNING -> TERMINATING. Termination reason: DONE_BY_RUNNER",
				"[run hi] Run status changed TERMINATING -> DONE")
		})
		t.Run("a failing short task attached prints its logs and exits 1", func(t *testing.T) {
			t.Parallel()
			c := env.CLI(t)
			path := c.WriteFile("bad.dstack.yml", "type: task\nname: bad\ncommands:\n  - echo about to fail\n  - exit 3\n"+taskResources)
			r := c.Run("apply", "-f", path, "-y")
			c.Check(r, 1, "about to fail\n", "Exited (3)", "Check dstack logs -d bad for more details.")
			run := env.runStatus(t, "main", "bad")
			require.Equal(t, "failed", run.Status)
			require.Equal(t, 3, *run.LatestJobSubmission.ExitStatus)
			c.Check(c.Run("logs", "bad"), 0, "about to fail")
		})
		t.Run("a detached task: ps, logs, attach, stop, delete", func(t *testing.T) {
			t.Parallel()
			testOfficialDetachedTask(t, env)
		})
		t.Run("a service, updated in place", func(t *testing.T) {
			t.Parallel()
			testOfficialService(t, env)
		})
	})
	t.Run("more jobs", func(t *testing.T) {
		t.Run("a dev environment attached, detached with Ctrl-C, aborted", func(t *testing.T) {
			t.Parallel()
			c := env.CLI(t)
			path := c.WriteFile(".dstack.yml", "type: dev-environment\nname: dev\nide: vscode\n"+taskResources)
			apply := c.Start("apply", "-f", path, "-y")
			apply.WaitOutput("dev provisioning completed (running)", 2*time.Minute)
			time.Sleep(2 * time.Second) // attached: the ssh tunnel and the log stream
			r := apply.Interrupt()
			require.Equal(t, 0, r.Code, r)
			require.Contains(t, r.Stdout, "Detached")
			require.Regexp(t, `dev\s.*running`, c.Want(0, "ps").Stdout, "detaching leaves it running")
			c.Check(c.Run("stop", "dev", "-x", "-y"), 0, "Aborted")
			env.waitRun(t, "main", "dev", "terminated", "aborted")
		})
		t.Run("metrics of a task that burns CPU and holds memory", func(t *testing.T) {
			t.Parallel()
			testOfficialMetrics(t, env)
		})
		t.Run("offer", func(t *testing.T) {
			t.Parallel()
			c := env.CLI(t)
			r := c.Want(0, "offer")
			require.Contains(t, r.Stdout, "ssh (remote)")
			require.Regexp(t, `(?m)^\s*1\s+ssh \(remote\)\s+cpu=`, r.Stdout)
			var out struct {
				Project string `json:"project"`
				Offers  []struct {
					Backend      string `json:"backend"`
					Availability string `json:"availability"`
				} `json:"offers"`
				TotalOffers int `json:"total_offers"`
			}
			j := c.Want(0, "offer", "--json")
			require.NoError(t, json.Unmarshal([]byte(j.Stdout), &out), j)
			require.Equal(t, "main", out.Project)
			require.NotEmpty(t, out.Offers)
			require.Equal(t, "remote", out.Offers[0].Backend)
			require.Equal(t, len(out.Offers), out.TotalOffers)

			// Grouped by GPU: the hosts have none, so the table has a header only.
			g := c.Want(0, "offer", "--group-by", "gpu")
			require.Regexp(t, `Group by\s+gpu *\n`, g.Stdout)
			require.Regexp(t, `#\s+GPU\s+SPOT\s+\$/GPU\s+BACKENDS`, g.Stdout)
			require.NotContains(t, g.Output(), "404")
			var gpus struct {
				Project string            `json:"project"`
				GroupBy []string          `json:"group_by"`
				Gpus    []json.RawMessage `json:"gpus"`
			}
			gj := c.Want(0, "offer", "--group-by", "gpu,backend,region,count", "--json")
			require.NoError(t, json.Unmarshal([]byte(gj.Stdout), &gpus), gj)
			require.Equal(t, "main", gpus.Project)
			require.Equal(t, []string{"gpu", "backend", "region", "count"}, gpus.GroupBy)
			require.NotNil(t, gpus.Gpus)
			require.Empty(t, gpus.Gpus)
			c.Check(c.Run("offer", "--group-by", "gpu,region"), 1, "Cannot group by 'region' without also grouping by 'backend'")

			// Ours prints the same header and table.
			conn := []string{"--url", env.Server.URL, "--token", env.Server.Token, "--project", "main"}
			own := wantRun(t, sandboxEnv(c.Home), 0, []string{"Group by"}, append([]string{"offer", "--group-by", "gpu,backend"}, conn...)...)
			require.Regexp(t, `Group by\s+gpu, backend\n`, own.Stdout)
			require.Regexp(t, `#\s+GPU\s+SPOT\s+\$/GPU\s+BACKENDS`, own.Stdout)
			wantRun(t, sandboxEnv(c.Home), 1, []string{"Cannot group by 'region' without also grouping by 'backend'"},
				append([]string{"offer", "--group-by", "gpu,region"}, conn...)...)
			wantRun(t, sandboxEnv(c.Home), 2, []string{"cannot group by 'backend' without also grouping by 'gpu'"},
				append([]string{"offer", "--group-by", "backend"}, conn...)...)
		})
	})
}

// testOfficialDetachedTask submits a task that keeps printing, looks at it
// with ps and logs, attaches to it and runs a command in it over ssh,
// stops it and deletes it.
func testOfficialDetachedTask(t *testing.T, env *officialEnv) {
	c := env.CLI(t)
	path := c.WriteFile("loop.dstack.yml", "type: task\nname: loop\ncommands:\n"+
		"  - for i in $(seq 1 1000); do echo line-$i; sleep 0.5; done\n"+taskResources)
	c.Check(c.Run("apply", "-f", path, "-y", "-d"), 0, "Run loop submitted, detaching...")
	env.waitRun(t, "main", "loop", "running")

	// Applied again unchanged while it runs: nothing to do without --force.
	c.Check(c.Run("apply", "-f", path, "-y", "-d"), 0, "Active run loop already exists. Detected no changes.", "Use --force to apply anyway.")
	require.Regexp(t, `loop\s.*running`, c.Want(0, "ps").Stdout)
	require.Regexp(t, `loop\s.*running`, c.Want(0, "ps", "-a").Stdout)
	require.Regexp(t, `(?s)RESOURCES.*loop\s.*cpu=`, c.Want(0, "ps", "-v").Stdout)

	waitFor(t, "the job's first lines in the logs", func() (bool, string) {
		r := c.Run("logs", "loop")
		return r.Code == 0 && strings.Contains(r.Stdout, "line-3\n"), r.String()
	})
	require.True(t, strings.HasPrefix(c.Want(0, "logs", "loop", "--job", "0").Stdout, "line-1\nline-2\n"))
	require.Contains(t, c.Want(0, "logs", "loop", "--since", "1h").Stdout, "line-1\n")
	require.NotContains(t, c.Want(0, "logs", "loop", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)).Stdout, "line-")
	require.Contains(t, c.Want(0, "logs", "loop", "--diagnose").Stdout, "job")
	c.Check(c.Run("logs", "nope"), 1, "Run nope not found")

	att := c.Start("attach", "loop")
	att.WaitOutput("To connect to the run via SSH, use `ssh loop`.", 2*time.Minute)
	if sshBin, err := exec.LookPath("ssh"); err == nil {
		out, err := exec.Command(sshBin, "-F", filepath.Join(c.Home, ".ssh", "config"), "-o", "BatchMode=yes",
			"loop", "echo in the job $DSTACK_RUN_NAME").CombinedOutput()
		require.NoError(t, err, "ssh loop: %s", out)
		require.Contains(t, string(out), "in the job loop")
	}
	r := att.Interrupt()
	require.Equal(t, 0, r.Code, r)
	require.Contains(t, r.Stdout, "Detached")

	c.Check(c.Run("stop", "loop", "-y"), 0, "Stopped")
	env.waitRun(t, "main", "loop", "terminated")
	require.Regexp(t, `loop\s.*stopped`, c.Want(0, "ps", "-a").Stdout)
	c.Check(c.Run("delete", "-f", path, "-y"), 0, "Run loop deleted")
	require.NotContains(t, c.Want(0, "ps", "-a").Stdout, "loop")
}

// testOfficialMetrics runs a task that holds 50 MB and keeps a CPU busy,
// waits for the server's samples (every 10 s) and reads them through the
// API, the official CLI's `dstack metrics` and ours.
func testOfficialMetrics(t *testing.T, env *officialEnv) {
	c := env.CLI(t)
	path := c.WriteFile("burn.dstack.yml", "type: task\nname: burn\ncommands:\n"+
		"  - x=$(head -c 50000000 /dev/zero | tr '\\0' x); while :; do :; done\n"+taskResources)
	c.Check(c.Run("apply", "-f", path, "-y", "-d"), 0, "Run burn submitted")
	t.Cleanup(func() { c.Run("stop", "burn", "-x", "-y") })
	env.waitRun(t, "main", "burn", "running")

	series := map[string][]int64{}
	waitFor(t, "three samples of the job with CPU and memory in use", func() (bool, string) {
		var m struct {
			Metrics []struct {
				Name       string   `json:"name"`
				Timestamps []string `json:"timestamps"`
				Values     []int64  `json:"values"`
			} `json:"metrics"`
		}
		st := apiGet(t, env.Server.URL, env.Server.Token, "/api/project/main/metrics/job/burn?replica_num=0&job_num=0&limit=100", &m)
		if st != 200 {
			return false, fmt.Sprintf("status %d", st)
		}
		clear(series)
		for _, s := range m.Metrics {
			series[s.Name] = s.Values
		}
		cpu, mem := series["cpu_usage_percent"], series["memory_working_set_bytes"]
		return len(cpu) >= 2 && cpu[0] > 0 && mem[0] > 50e6, fmt.Sprint(series)
	})
	require.Equal(t, series["memory_usage_bytes"][0], series["memory_working_set_bytes"][0])
	require.Contains(t, series, "cpus_detected_num")
	require.Contains(t, series, "memory_total_bytes")
	require.Equal(t, int64(0), series["gpus_detected_num"][0], "the hosts have no GPU")

	r := c.Want(0, "metrics", "burn")
	require.Regexp(t, `UTILIZATION\s+MEMORY`, r.Stdout)
	require.Regexp(t, `job=0\s+cpu\s+[▁▂▃▄▅▆▇]+ \d+%\s+[▁▂▃▄▅▆▇]+ \d+MB/\d+GB`, r.Stdout)
	require.NotContains(t, r.Output(), "404")
	c.Check(c.Run("metrics", "burn", "--job", "1"), 1, "Run burn has no job matching job=1")

	own := wantRun(t, sandboxEnv(c.Home), 0, []string{"UTILIZATION", "MEMORY"},
		"metrics", "burn", "--url", env.Server.URL, "--token", env.Server.Token, "--project", "main")
	require.Regexp(t, `job=0\s+cpu\s+[▁▂▃▄▅▆▇]+ \d+%\s+[▁▂▃▄▅▆▇]+ \d+MB/\d+GB`, own.Stdout)
	wantRun(t, sandboxEnv(c.Home), 1, []string{"run burn has no job matching replica=2"},
		"metrics", "burn", "--replica", "2", "--url", env.Server.URL, "--token", env.Server.Token, "--project", "main")
	wantRun(t, sandboxEnv(c.Home), 1, []string{"run nope not found"},
		"metrics", "nope", "--url", env.Server.URL, "--token", env.Server.Token, "--project", "main")

	c.Check(c.Run("stop", "burn", "-x", "-y"), 0)
	env.waitRun(t, "main", "burn", "terminated", "aborted")
	// A finished job keeps its samples (7 days by default): still charted.
	r = c.Want(0, "metrics", "burn")
	require.Regexp(t, `job=0\s+cpu\s+[▁▂▃▄▅▆▇]+ \d+%`, r.Stdout)
}

// apiGet is api for GET routes: it decodes a 200 answer into out and
// returns the status.
func apiGet(tb testing.TB, url, token, path string, out any) int {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(tb, err, "GET %s", path)
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK && out != nil {
		require.NoError(tb, json.NewDecoder(res.Body).Decode(out), "GET %s: decode", path)
	}
	return res.StatusCode
}
