package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server/schemas"
)

// smallResources fits every test host.
const smallResources = `{"cpu": {"count": {"min": 1}}, "memory": {"min": 0.1}, "disk": {"size": {"min": 1}}}`

// runSpecOf is the run spec the official CLI sends for a configuration
// (JSON, without resources: smallResources are added).
func runSpecOf(t testing.TB, name, conf string) schemas.RunSpec {
	t.Helper()
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(conf), &c))
	if _, ok := c["resources"]; !ok {
		c["resources"] = json.RawMessage(smallResources)
	}
	cb, err := json.Marshal(c)
	require.NoError(t, err)
	raw := `{"run_name": "` + name + `", "repo_id": "none", "repo_data": {"repo_type": "virtual"},
		"configuration": ` + string(cb) + `, "profile": {"name": "default"}}`
	var spec schemas.RunSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	return spec
}

// randomSuffix is a short random hex string for names shared with the host.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stopRun asks the server to stop runs (abort: without the grace period).
func (s *testServer) stopRun(t testing.TB, abort bool, names ...string) {
	t.Helper()
	require.NoError(t, s.Call(context.Background(), "/api/project/main/runs/stop",
		schemas.StopRunsRequest{RunsNames: names, Abort: abort}, nil))
}

// statusIs waits for one run status.
func statusIs(st schemas.RunStatus) func(*schemas.Run) bool {
	return func(r *schemas.Run) bool { return r.Status == st }
}

// trace records the statuses a run went through while waiting on it.
type trace struct{ seen []schemas.RunStatus }

func (tr *trace) until(cond func(*schemas.Run) bool) func(*schemas.Run) bool {
	return func(r *schemas.Run) bool {
		if n := len(tr.seen); n == 0 || tr.seen[n-1] != r.Status {
			tr.seen = append(tr.seen, r.Status)
		}
		return cond(r)
	}
}

// hostOf finds the test host a submission was placed on.
func hostOf(t testing.TB, sub *schemas.JobSubmission, hosts ...*sshtest.Host) *sshtest.Host {
	t.Helper()
	require.NotNil(t, sub.JobProvisioningData, "the submission was never placed")
	require.NotNil(t, sub.JobProvisioningData.Hostname)
	for _, h := range hosts {
		if h.Addr == *sub.JobProvisioningData.Hostname {
			return h
		}
	}
	require.FailNow(t, fmt.Sprintf("no test host has address %s", *sub.JobProvisioningData.Hostname))
	return nil
}

// eventually retries fn until it succeeds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		require.False(t, time.Now().After(deadline), "%s: not within %s: %v", what, timeout, err)
		time.Sleep(200 * time.Millisecond)
	}
}
