package runner

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
)

// keys remembers the private key of each signer newKey made.
var keys = map[ssh.Signer]ed25519.PrivateKey{}

// newKey returns a signer and its authorized_keys line.
func newKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	keys[signer] = priv
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// startSSHRunner runs a runner with the built-in SSH server on loopback,
// accepting one key, with a job running (so sessions get its environment).
func startSSHRunner(t *testing.T) (*testRunner, ssh.Signer, int) {
	t.Helper()
	signer, pub := newKey(t)
	port := testutil.FreePort(t)
	tr := startRunner(t, func(c *Config) {
		c.HTTPAddress, c.SSHPort, c.SSHAuthorizedKeys, c.BuiltinSSH = "127.0.0.1", port, []string{pub}, true
	})
	tr.startJob(t, submitBody("sleep 30"))
	return tr, signer, port
}

// waitJobEnv waits until sessions get the job's environment: the job's
// process starts a moment after /api/run answers.
func waitJobEnv(t *testing.T, c *ssh.Client) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, "sessions in the job's environment", func() bool {
		sess, err := c.NewSession()
		if err != nil {
			return false
		}
		defer sess.Close()
		out, _ := sess.Output("echo $MY_VAR")
		return string(out) == "my-value\n"
	})
}

func dialRunnerSSH(t *testing.T, port int, signer ssh.Signer, user string) *ssh.Client {
	t.Helper()
	var c *ssh.Client
	testutil.Eventually(t, 5*time.Second, "ssh server up", func() bool {
		var err error
		c, err = ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &ssh.ClientConfig{User: user,
			Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: time.Second})
		return err == nil
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestBuiltinSSHServer(t *testing.T) {
	tr, signer, port := startSSHRunner(t)
	c := dialRunnerSSH(t, port, signer, "root")
	waitJobEnv(t, c)

	t.Run("commands run in the job's environment and report their exit status", func(t *testing.T) {
		sess, err := c.NewSession()
		require.NoError(t, err)
		defer sess.Close()
		out, err := sess.CombinedOutput("echo $MY_VAR; echo oops >&2; exit 3")
		var ee *ssh.ExitError
		require.ErrorAs(t, err, &ee, "want exit status 3 (output %q)", out)
		require.Equal(t, 3, ee.ExitStatus(), "exit status (output %q)", out)
		require.Contains(t, string(out), "my-value", "output lacks the job's variable")
		require.Contains(t, string(out), "oops", "output lacks the job's stderr")
	})

	t.Run("stdin reaches the command", func(t *testing.T) {
		sess, _ := c.NewSession()
		defer sess.Close()
		sess.Stdin = strings.NewReader("from stdin\n")
		out, err := sess.Output("cat")
		require.False(t, err != nil || string(out) != "from stdin\n", "cat: %q, %v", out, err)
	})

	t.Run("an interactive shell on a terminal", func(t *testing.T) {
		sess, _ := c.NewSession()
		defer sess.Close()
		require.NoError(t, sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 0}))
		var out bytes.Buffer
		sess.Stdout = &out
		stdin, _ := sess.StdinPipe()
		require.NoError(t, sess.Shell())
		fmt.Fprintln(stdin, `test -t 0 && echo "tty $TERM"; exit 0`)
		require.NoError(t, sess.Wait(), "shell; output %q", out.String())
		require.Contains(t, out.String(), "tty xterm", "no terminal in the shell")
	})

	t.Run("localhost:10999 leads to the runner's API wherever it listens", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{Dial: func(_, _ string) (net.Conn, error) {
			return c.Dial("tcp", "localhost:10999")
		}}, Timeout: 5 * time.Second}
		res, err := hc.Get("http://runner/api/healthcheck")
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "healthcheck through the tunnel: %s", body)
		require.Contains(t, string(body), "dstack-runner", "healthcheck through the tunnel")

		_ = tr
	})

	t.Run("unknown keys are refused", func(t *testing.T) {
		other, _ := newKey(t)
		_, err := ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &ssh.ClientConfig{User: "root",
			Auth: []ssh.AuthMethod{ssh.PublicKeys(other)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: time.Second})
		require.Error(t, err, "a key that is not authorized logged in")
	})
}

// TestBuiltinSSHServerWithOpenSSHClient drives the server with the OpenSSH
// client, as the official dstack CLI does (it runs the system ssh).
func TestBuiltinSSHServerWithOpenSSHClient(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		require.True(t, os.Getenv("CI") != "true", "the OpenSSH client is missing (openssh-client)")
		t.Skip("no OpenSSH client")
	}
	_, signer, port := startSSHRunner(t)
	waitJobEnv(t, dialRunnerSSH(t, port, signer, "root"))
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "id")
	block, err := ssh.MarshalPrivateKey(keys[signer], "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600))
	cmd := exec.Command(sshBin, "-F", "/dev/null", "-i", keyPath, "-p", strconv.Itoa(port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "root@127.0.0.1", "echo attached $MY_VAR")
	out, err := cmd.CombinedOutput()
	require.False(t, err != nil || !strings.Contains(string(out), "attached my-value"), "ssh: %v\n%s", err, out)
}
