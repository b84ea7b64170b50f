package server_test

// The official CLI's attach path (`dstack apply` without -d, `dstack
// attach`), replayed with the system OpenSSH client as the CLI runs it: the
// user's key from users/get_my_user, an ssh config with `<run>-host` (the
// instance, as jpd.username) and `<run>` (the job's SSH server at
// localhost:<jrd.ports[10022]>, via ProxyJump), a tunnel to the runner's
// port 10999 and its /logs_ws WebSocket through it. The host is a real
// namespaced sshd; the job runs as a plain process, so the job's SSH server
// is the runner's built-in one.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

func TestOfficialCLIAttachPath(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		require.True(t, os.Getenv("CI") != "true", "the OpenSSH client is missing (openssh-client)")
		t.Skip("no OpenSSH client")
	}
	h := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "attach", h))
	s.waitFleet(t, "attach", 90*time.Second, allInstances(schemas.InstanceIdle))

	s.applyRun(t, runSpecOf(t, "attached", `{"type": "task", "commands":
		["for i in $(seq 1 600); do echo line-$i; sleep 0.1; done"]}`))
	r := s.waitRun(t, "attached", 60*time.Second, statusIs(schemas.RunRunning))
	sshCmd := s.cliSSH(t, r)

	t.Run("the user's key reaches the host", func(t *testing.T) {
		out, err := sshCmd("attached-host", "echo on-host").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "on-host")
	})

	t.Run("and the job, through the host", func(t *testing.T) {
		out, err := sshCmd("attached", "echo in-job $DSTACK_RUN_NAME").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "in-job attached")
	})

	t.Run("the runner's log stream through the tunnel", func(t *testing.T) {
		lport := servertest.FreePort(t)
		tunnel := sshCmd("-N", "-o", "ExitOnForwardFailure=yes", "-L", fmt.Sprintf("127.0.0.1:%d:localhost:10999", lport), "attached")
		require.NoError(t, tunnel.Start())
		t.Cleanup(func() { _ = tunnel.Process.Kill(); _ = tunnel.Wait() })
		var ws *websocket.Conn
		eventually(t, 20*time.Second, "the tunnel to the runner", func() error {
			var err error
			ws, _, err = websocket.DefaultDialer.Dial("ws://127.0.0.1:"+strconv.Itoa(lport)+"/logs_ws", nil)
			return err
		})
		defer ws.Close()
		var got strings.Builder
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		for !strings.Contains(got.String(), "line-3\n") {
			_, msg, err := ws.ReadMessage()
			require.NoError(t, err, "read /logs_ws; so far %q", got.String())
			got.Write(msg)
		}
		require.True(t, strings.HasPrefix(got.String(), "line-1\n"), "the stream starts at the job's first line: %q", got.String())
	})

	s.stopRun(t, false, "attached")
	s.waitRun(t, "attached", 60*time.Second, finished)
	// The job's keys leave the host with the job.
	eventually(t, 30*time.Second, "the user's key removed from the host", func() error {
		if out, err := sshCmd("attached-host", "true").CombinedOutput(); err == nil {
			return fmt.Errorf("the host still accepts the user's key: %s", out)
		}
		return nil
	})
}

// cliSSH writes the ssh config the official CLI writes for a running run
// (aliases "<run>-host" and "<run>", the user's key from get_my_user) and
// returns a builder of ssh commands that use it.
func (s *testServer) cliSSH(t *testing.T, r *schemas.Run) func(args ...string) *exec.Cmd {
	t.Helper()
	sshBin, err := exec.LookPath("ssh")
	require.NoError(t, err, "the OpenSSH client (openssh-client)")
	name := *r.RunSpec.RunName
	sub := r.LatestJobSubmission
	jpd, jrd := sub.JobProvisioningData, sub.JobRuntimeData
	require.NotNil(t, jpd)
	require.NotNil(t, jrd)

	// What the CLI downloads and caches: the user's key pair.
	var me schemas.UserWithCreds
	require.NoError(t, s.Call(context.Background(), "/api/users/get_my_user", nil, &me))
	require.NotNil(t, me.SSHPrivateKey, "get_my_user must return ssh_private_key")
	dir := t.TempDir()
	key := filepath.Join(dir, "id_rsa")
	require.NoError(t, os.WriteFile(key, []byte(*me.SSHPrivateKey), 0o600))

	// The CLI's ssh config: the host alias, then the job through it.
	containerPort := 10022
	if p, ok := jrd.Ports["10022"]; ok {
		containerPort = p
	}
	containerUser := "root"
	if jrd.Username != nil && *jrd.Username != "" {
		containerUser = *jrd.Username
	}
	sshPort := 22
	if jpd.SSHPort != nil {
		sshPort = *jpd.SSHPort
	}
	opts := "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    IdentitiesOnly yes\n" +
		"    IdentityFile " + key + "\n    ConnectTimeout 10\n    BatchMode yes\n    LogLevel ERROR\n"
	cfg := filepath.Join(dir, "config")
	hostBlock := fmt.Sprintf("Host %s-host\n    HostName %s\n    Port %d\n    User %s\n%s", name, *jpd.Hostname, sshPort, jpd.Username, opts)
	jobBlock := fmt.Sprintf("Host %s\n    HostName localhost\n    Port %d\n    User %s\n    ProxyJump %s-host\n%s", name, containerPort, containerUser, name, opts)
	require.NoError(t, os.WriteFile(cfg, []byte(hostBlock+"\n"+jobBlock), 0o600))
	return func(args ...string) *exec.Cmd { return exec.Command(sshBin, append([]string{"-F", cfg}, args...)...) }
}
