package server_test

// Service probes, autoscaling, rolling updates and rate limits through the
// server's proxy, on real namespaced SSH hosts running svcapp.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// serviceConf is a service configuration as JSON, from a map.
func serviceConf(t testing.TB, c map[string]any) string {
	t.Helper()
	c["type"] = "service"
	b, err := json.Marshal(c)
	require.NoError(t, err)
	return string(b)
}

// runningJobs counts the latest submissions of a run that are running.
func runningJobs(r *schemas.Run) int {
	n := 0
	for _, j := range r.Jobs {
		if k := len(j.JobSubmissions); k > 0 && j.JobSubmissions[k-1].Status == schemas.JobRunning {
			n++
		}
	}
	return n
}

// svcHello gets <base>hello and returns the answering job's id.
func svcHello(t testing.TB, base string) (int, string) {
	t.Helper()
	resp, body := proxyGet(t, base+"hello", servertest.AdminToken)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	var e echoed
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return resp.StatusCode, e.JobID
}

func TestServiceProbeKeepsBadReplicaOut(t *testing.T) {
	t.Parallel()
	app := svcApp(t)
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "probes", h1, h2))
	s.waitFleet(t, "probes", 90*time.Second, allInstances(schemas.InstanceIdle))

	// The replica on h2 answers its health check with 503.
	cmd := fmt.Sprintf(`exec %s -port 8000 -health $([ "$(id -un)" = %q ] && echo 503 || echo 200)`, app, h2.User)
	s.applyRun(t, runSpecOf(t, "probed", serviceConf(t, map[string]any{"port": 8000, "replicas": 2,
		"probes":   []any{map[string]any{"type": "http", "url": "/health", "interval": "1s", "ready_after": 2}},
		"commands": []string{cmd}})))
	r := s.waitRun(t, "probed", 90*time.Second, func(r *schemas.Run) bool { return runningJobs(r) == 2 })
	var good, bad string
	for _, j := range r.Jobs {
		sub := j.JobSubmissions[len(j.JobSubmissions)-1]
		if hostOf(t, &sub, h1, h2) == h2 {
			bad = sub.ID
		} else {
			good = sub.ID
		}
	}
	require.NotEmpty(t, good)
	require.NotEmpty(t, bad)

	// The good replica passes its probe twice in a row, then takes traffic.
	r = s.waitRun(t, "probed", 30*time.Second, func(r *schemas.Run) bool {
		for _, j := range r.Jobs {
			sub := j.JobSubmissions[len(j.JobSubmissions)-1]
			if sub.ID == good && len(sub.Probes) == 1 && sub.Probes[0].SuccessStreak >= 2 {
				return true
			}
		}
		return false
	})
	for _, j := range r.Jobs {
		sub := j.JobSubmissions[len(j.JobSubmissions)-1]
		if sub.ID == bad {
			require.Len(t, sub.Probes, 1)
			require.Zero(t, sub.Probes[0].SuccessStreak, "the bad replica never passes")
		}
	}
	base := s.URL + "/proxy/services/main/probed/"
	for range 8 {
		code, who := svcHello(t, base)
		require.Equal(t, http.StatusOK, code, who)
		require.Equal(t, good, who, "only the replica whose probe passes takes requests")
	}

	// The job spec shows the probe with upstream's defaults filled in.
	var spec struct {
		Probes []map[string]any `json:"probes"`
	}
	raw, err := json.Marshal(r.Jobs[0].JobSpec)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &spec))
	require.Equal(t, []map[string]any{{"type": "http", "url": "/health", "method": "get", "headers": []any{},
		"body": nil, "timeout": 10.0, "interval": 1.0, "ready_after": 2.0, "until_ready": false}}, spec.Probes)
	s.stopRun(t, true, "probed")
	s.waitRun(t, "probed", 60*time.Second, finished)
}
