package cli

// End to end through real parts: the client verbs of the built binary, run
// as a user runs them, against a real server with background processing,
// which deploys the agent over SSH to a real test host (sshtest: a network
// namespace with its own sshd) and runs the jobs there. Needs root and
// sshd; skipped otherwise (failed under CI=true).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

func TestE2EClientVerbsOnSSHFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the SSH fleet end-to-end test")
	}
	host := sshtest.NewHost(t, sshtest.Options{})
	home := t.TempDir()
	t.Chdir(home)
	t.Setenv("HOME", home)
	url := servertest.Start(t, server.Options{})
	key := filepath.Join(home, "id_host")
	require.NoError(t, os.WriteFile(key, host.ClientKey, 0o600))
	write := func(name, text string) { require.NoError(t, os.WriteFile(name, []byte(text), 0o644)) }
	write("fleet.dstack.yml", fmt.Sprintf("type: fleet\nname: lab\nenv:\n  - DSTACK_SHIM_EXECUTOR=process\n"+
		"ssh_config:\n  user: %s\n  identity_file: %s\n  hosts:\n    - %s\n", host.User, key, host.Addr))
	res := runBinary(t, home, "project", "add", "--name", "main", "--url", url, "--token", servertest.AdminToken)
	require.Equal(t, 0, res.Code, res.Stderr)
	must := func(code int, args ...string) cliResult {
		t.Helper()
		r := runBinary(t, home, args...)
		require.Equal(t, code, r.Code, "dstack %s:\n%s%s", strings.Join(args, " "), r.Stdout, r.Stderr)
		return r
	}

	out := must(0, "apply", "-f", "fleet.dstack.yml", "-y").Stdout
	require.Contains(t, out, "Fleet lab does not exist yet.")
	require.Contains(t, out, "idle", "apply waits until the host is provisioned")
	require.Contains(t, must(0, "fleet").Stdout, "   instance=0")

	resources := "resources:\n  cpu: 1..\n  memory: 0.1GB..\n  disk: 1GB..\n"
	write("hello.dstack.yml", "type: task\nname: hello\ncommands:\n  - echo hello from dstack\n  - echo done\n"+resources)
	out = must(0, "apply", "-f", "hello.dstack.yml", "-y").Stdout
	require.Contains(t, out, "hello from dstack", "apply streams the job's logs")
	require.Contains(t, out, "Exited (0)")
	require.Contains(t, must(0, "logs", "hello").Stdout, "hello from dstack\n")
	require.Contains(t, must(0, "ps", "-a").Stdout, "exited (0)")

	// Secrets: set, used by a run, listed without their values, deleted.
	require.Equal(t, "OK\n", must(0, "secret", "set", "greeting", "s3cr3t-hello").Stdout)
	write("secretive.dstack.yml", "type: task\nname: secretive\nenv:\n  - GREETING=${{ secrets.greeting }}\n"+
		"commands:\n  - echo the secret is $GREETING\n"+resources)
	require.Contains(t, must(0, "apply", "-f", "secretive.dstack.yml", "-y").Stdout, "the secret is s3cr3t-hello")
	list := must(0, "secret", "list").Stdout
	require.Contains(t, list, "greeting")
	require.NotContains(t, list, "s3cr3t-hello")
	require.Contains(t, must(0, "secret", "get", "greeting").Stdout, "s3cr3t-hello")
	must(0, "secret", "delete", "greeting", "-y")
	require.NotContains(t, must(0, "secret", "list").Stdout, "greeting")

	write("broken.dstack.yml", "type: task\nname: broken\ncommands:\n  - echo about to fail\n  - exit 3\n"+resources)
	res = must(1, "apply", "-f", "broken.dstack.yml", "-y")
	require.Contains(t, res.Stdout, "about to fail")
	require.Contains(t, res.Stderr, "Error: run broken failed: exited (3)")

	write("sleeper.dstack.yml", "type: task\nname: sleeper\ncommands:\n  - sleep 600\n"+resources)
	require.Contains(t, must(0, "apply", "-f", "sleeper.dstack.yml", "-y", "-d").Stdout, "Run sleeper submitted, detaching...")
	waitPs(t, "sleeper", schemas.RunRunning)
	require.Equal(t, "Stopped\n", must(0, "stop", "sleeper", "-y").Stdout)
	waitPs(t, "sleeper", schemas.RunTerminated)
	require.Equal(t, "Run sleeper deleted\n", must(0, "delete", "sleeper", "-y").Stdout)

	// dstack attach: the job's port on this machine, and `ssh <run>`.
	write("web.dstack.yml", "type: task\nname: web\nports:\n  - "+strconv.Itoa(servertest.FreePort(t))+":8123\ncommands:\n"+
		"  - mkdir -p www && echo hello through the tunnel > www/index.html\n  - exec busybox httpd -f -p 127.0.0.1:8123 -h www\n"+resources)
	must(0, "apply", "-f", "web.dstack.yml", "-y", "-d")
	waitPs(t, "web", schemas.RunRunning)
	attachAndUse(t, home)
	must(0, "stop", "web", "-y")
	waitPs(t, "web", schemas.RunTerminated)

	require.Equal(t, "Fleet lab deleted\n", must(0, "delete", "-f", "fleet.dstack.yml", "-y").Stdout)
	require.NotContains(t, must(0, "fleet").Stdout, "lab")
}

// waitPs polls `dstack ps -a --json` until the run has status.
func waitPs(t *testing.T, run string, status schemas.RunStatus) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var out psOutput
		res := runBinary(t, os.Getenv("HOME"), "ps", "-a", "--json")
		require.NoError(t, json.Unmarshal([]byte(res.Stdout), &out), res.Stderr)
		for _, r := range out.Runs {
			if runName(&r) == run && r.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("run %s not %s within 90s:\n%s", run, status, res.Stdout))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// attachAndUse runs `dstack attach web` (the binary, as a user does), reads
// the page the job serves through the forwarded port, logs in to the job
// with the system ssh through the aliases attach wrote, and detaches with
// Ctrl-C, which removes the aliases again.
func attachAndUse(t *testing.T, home string) {
	t.Helper()
	cmd := exec.Command(servertest.Binary(t), "attach", "web")
	cmd.Env = append(os.Environ(), "HOME="+home)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	var url string
	for lines.Scan() {
		line := lines.Text()
		if _, after, ok := strings.Cut(line, "Forwarded port 8123 of the job to "); ok {
			url = after
		}
		if strings.HasPrefix(line, "To connect to the run via SSH, use `ssh web`") {
			break
		}
	}
	require.NotEmpty(t, url, "attach printed no forwarded port; stderr: %s", stderr.String())
	var body []byte
	require.Eventually(t, func() bool {
		res, err := http.Get(url)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, _ = io.ReadAll(res.Body)
		return res.StatusCode == 200
	}, 20*time.Second, 200*time.Millisecond)
	require.Equal(t, "hello through the tunnel\n", string(body))

	if sshBin, err := exec.LookPath("ssh"); err == nil {
		out, err := exec.Command(sshBin, "-F", filepath.Join(home, ".ssh", "config"), "-o", "BatchMode=yes", "web", "echo in the job $DSTACK_RUN_NAME").CombinedOutput()
		require.NoError(t, err, "ssh web: %s", out)
		require.Contains(t, string(out), "in the job web")
	} else {
		require.NotEqual(t, "true", os.Getenv("CI"), "CI must have the OpenSSH client (openssh-client): %v", err)
	}

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	require.NoError(t, cmd.Wait(), stderr.String())
	cfg, err := os.ReadFile(filepath.Join(home, ".dstack", "ssh", "config"))
	require.NoError(t, err)
	require.NotContains(t, string(cfg), "Host web", "detaching removes the run's ssh aliases")
}

// runBinary runs the built dstack in dir with HOME=dir and none of the
// caller's DSTACK_* variables, as a user in that home would.
func runBinary(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(servertest.Binary(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DSTACK_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		require.NoError(t, err, "run dstack %s", strings.Join(args, " "))
	}
	return res
}
