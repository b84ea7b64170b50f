package scaletest_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	agentclient "github.com/dstackgo/dstack/backends/agent/client"
	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestFinalStatePulledByAReplicaThatDied: a replica pulls a job's final
// state from its runner and dies before writing it down (the runner exits
// once its final state is pulled, so it never answers again). The next
// server learns how the job ended from the shim: the job ends done, not
// failed as unreachable minutes later.
func TestFinalStatePulledByAReplicaThatDied(t *testing.T) {
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(1)
	require.NoError(t, err)
	dir, target := t.TempDir(), dbtest.SQLiteTarget(t)
	scaletest.SeedFleet(t, hs, dir, target, "hollow", hosts)
	s := scaletest.Start(t, hs, dir, target, server.Options{})
	ctx := context.Background()
	require.NoError(t, s.Submit(ctx, "taken", "sleep 2"))
	waitRun(t, s, "taken", time.Minute, func(r *schemas.Run) bool { return r.Status == schemas.RunRunning })
	r, err := s.Run(ctx, "taken")
	require.NoError(t, err)
	jrd := r.LatestJobSubmission.JobRuntimeData
	require.NotNil(t, jrd)
	port, ok := jrd.Ports["10999"]
	require.True(t, ok, "no runner port in %+v", jrd.Ports)
	require.NoError(t, s.Stop())

	// What the dead replica did: pull until the final state.
	rc := runnerVia(t, hs, hosts[0], port)
	var ts int64
	require.Eventually(t, func() bool {
		res, err := rc.Pull(ctx, ts)
		if err != nil {
			return false
		}
		ts = res.LastUpdated
		n := len(res.JobStates)
		return n > 0 && res.JobStates[n-1].State == agent.JobStateDone
	}, time.Minute, 200*time.Millisecond, "the runner never reported its final state")

	s = scaletest.Start(t, hs, dir, target, server.Options{})
	waitRun(t, s, "taken", time.Minute, func(r *schemas.Run) bool { return r.Status.Finished() })
	r, err = s.Run(ctx, "taken")
	require.NoError(t, err)
	require.Equal(t, schemas.RunDone, r.Status, errorOf(r))
}

// runnerVia is a client of the runner on port of a hollow host, over SSH.
func runnerVia(t *testing.T, hs *scaletest.Hosts, h *scaletest.Host, port int) *agentclient.RunnerClient {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(hs.ClientKey)
	require.NoError(t, err)
	addr := net.JoinHostPort(h.IP, "22")
	nc, err := hs.Dial(context.Background(), "tcp", addr)
	require.NoError(t, err)
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: hs.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	require.NoError(t, err)
	c := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { _ = c.Close() })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
		return c.Dial("tcp", a)
	}}}
	return agentclient.NewRunnerClient(hc, "http://127.0.0.1:"+strconv.Itoa(port))
}
