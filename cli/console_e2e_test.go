package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// tmux drives a terminal program the way a person does: keys in, screen out.
type tmux struct {
	t       *testing.T
	session string
}

func newTmux(t *testing.T, env []string, cmd string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		require.True(t, os.Getenv("CI") != "true", "tmux is required for the console end-to-end test")
		t.Skip("tmux not installed")
	}
	m := &tmux{t: t, session: fmt.Sprintf("dstack-e2e-%d", time.Now().UnixNano())}
	args := []string{"new-session", "-d", "-s", m.session, "-x", "100", "-y", "30"}
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "DSTACK_") || strings.HasPrefix(kv, "NO_COLOR=") {
			args = append(args, "-e", kv)
		}
	}
	out, err := exec.Command("tmux", append(args, cmd)...).CombinedOutput()
	require.NoError(t, err, "tmux: %v\n%s", err, out)
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", m.session).Run() })
	return m
}

func (m *tmux) keys(keys ...string) {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"send-keys", "-t", m.session}, keys...)...).CombinedOutput()
	require.NoError(m.t, err, "tmux send-keys:\n%s", out)
}

func (m *tmux) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", m.session).Output()
	return string(out)
}

// waitFor polls the screen until it shows every text.
func (m *tmux) waitFor(timeout time.Duration, texts ...string) string {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := m.screen()
		ok := true
		for _, x := range texts {
			ok = ok && strings.Contains(s, x)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			require.FailNow(m.t, fmt.Sprintf("the screen does not show %q within %s:\n%s", texts, timeout, s))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// TestE2EConsole runs the real binary's console in a terminal against a real
// server with a real run on a real SSH host, and switches pages.
func TestE2EConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the console end-to-end test")
	}
	host := sshtest.NewHost(t, sshtest.Options{})
	home := t.TempDir()
	srv := startServer(t, home, nil)
	env := sandboxEnv(home, "NO_COLOR=1")
	key := filepath.Join(home, "id_host")
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(home, name), []byte(text), 0o600))
	}
	write("id_host", string(host.ClientKey))
	write("fleet.dstack.yml", fmt.Sprintf("type: fleet\nname: lab\nenv:\n  - DSTACK_SHIM_EXECUTOR=process\n"+
		"ssh_config:\n  user: %s\n  identity_file: %s\n  hosts:\n    - %s\n", host.User, key, host.Addr))
	write("task.dstack.yml", "type: task\nname: demo\ncommands:\n  - echo console says hello\n  - sleep 600\n"+
		"resources:\n  cpu: 1..\n  memory: 0.1GB..\n  disk: 1GB..\n")
	wantRun(t, env, 0, []string{"idle"}, "apply", "-f", filepath.Join(home, "fleet.dstack.yml"), "-y")
	wantRun(t, env, 0, []string{"submitted"}, "apply", "-f", filepath.Join(home, "task.dstack.yml"), "-y", "-d")
	t.Cleanup(func() { wantRun(t, env, 0, nil, "stop", "demo", "-x", "-y") })

	m := newTmux(t, env, dstackBinary(t)+" console")
	m.waitFor(30*time.Second, "dstack console", "Runs", "demo", "running")
	m.keys("2")
	m.waitFor(10*time.Second, "Fleets", "lab-0", "busy", "1/1")
	m.keys("1")
	m.waitFor(10*time.Second, "demo", "running")
	m.keys("l")
	m.waitFor(20*time.Second, "console says hello")
	m.keys("4")
	m.waitFor(10*time.Second, "users.token", "encrypts")
	m.keys("5")
	m.waitFor(10*time.Second, "jobs_running", srv.URL)
	m.keys("?")
	m.waitFor(10*time.Second, "go to page", "next page")
	m.keys("Escape") // closes the help
	m.waitFor(10*time.Second, "Server", "jobs_running")
	m.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("tmux", "has-session", "-t", m.session).Run() == nil {
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("q did not quit the console:\n%s", m.screen()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
