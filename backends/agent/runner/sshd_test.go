package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveAgentBinary()
	os.Exit(code)
}

// reachable reports whether something accepts TCP connections on addr.
func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestJobSSHDListensOnlyWhereNeeded runs a root runner with the host's
// OpenSSH on a namespaced host, as the process executor does (its API on
// loopback): the job's sshd listens on loopback only, reached through the
// host's own sshd, and a multi-node job adds the node's cluster address,
// never the host's other addresses.
func TestJobSSHDListensOnlyWhereNeeded(t *testing.T) {
	if _, err := exec.LookPath("/usr/sbin/sshd"); err != nil {
		sshtest.Require(t) // fails under CI=true, skips otherwise
	}
	h := sshtest.NewHost(t, sshtest.Options{SecondAddress: true})
	bin := testutil.AgentBinary(t)
	dirs := [3]string{}
	for i := range dirs {
		dirs[i] = t.TempDir()
		_ = os.Chmod(dirs[i], 0o755)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, _ := ssh.NewSignerFromKey(priv)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	block, _ := ssh.MarshalPrivateKey(priv, "")
	cmd := exec.Command("ip", "netns", "exec", h.Name, bin, "runner", "--http-port", "10999", "--ssh-port", "10022",
		"--ssh-authorized-key", pub, "--temp-dir", dirs[0], "--dstack-dir", dirs[1], "--work-dir", dirs[2])
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := sshfleet.NewPool(sshfleet.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	conn, err := pool.Get(ctx, h.Target())
	require.NoError(t, err)
	rc := client.NewRunnerClient(conn.HTTPClient(10999), "http://127.0.0.1:10999")
	testutil.Eventually(t, 20*time.Second, "runner up", func() bool { _, err := rc.Healthcheck(ctx); return err == nil })
	testutil.Eventually(t, 20*time.Second, "sshd listening", func() bool {
		c, err := conn.Dial(ctx, "tcp", "127.0.0.1:10022")
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	for _, addr := range []string{h.Addr, h.AltAddr} {
		require.False(t, reachable(net.JoinHostPort(addr, "10022")), "the job's sshd answers on %s, outside the host", addr)
	}

	body := submitBody("sleep 20")
	user := h.User
	body.JobSpec.User = &schemas.User{Username: &user}
	body.JobSpec.SSHKey = &schemas.SSHKey{Private: string(pem.EncodeToMemory(block)), Public: pub}
	body.ClusterInfo = schemas.ClusterInfo{JobIPs: []string{h.Addr, "10.255.255.9"}, MasterJobIP: h.Addr}
	require.NoError(t, rc.Submit(ctx, body))
	require.NoError(t, rc.UploadCode(ctx, nil))
	_, err = rc.Run(ctx)
	require.NoError(t, err)
	testutil.Eventually(t, 20*time.Second, "sshd on the cluster address", func() bool {
		return reachable(net.JoinHostPort(h.Addr, "10022"))
	})
	require.False(t, reachable(net.JoinHostPort(h.AltAddr, "10022")), "the job's sshd answers on an address of the host that is not the node's cluster address")
	_ = rc.Stop(ctx)
}
