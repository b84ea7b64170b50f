package cli_test

// Plumbing of the tests that drive the official dstack CLI (Python, the
// unmodified upstream release) against the built binary running as a
// server: where the CLI is, one CLI user per HOME, SSH fleets written as
// configurations the way a user writes them.
//
//	env := newOfficialEnv(t)                      // `dstack server` (the built binary), project main
//	cli := env.CLI(t)                             // a user: own HOME, `dstack project add` done
//	res := cli.Want(0, "ps", "-a")                // exit code checked, output returned
//	path := cli.WriteFile("fleet.dstack.yml", yaml)
//	res = cli.Run("apply", "-f", path, "-y")      // any exit code
//
// The CLI is found at $DSTACK_OFFICIAL_CLI, else at shared/official-cli/dstack
// beside the repository (or beside one of its parent directories). Without it,
// or without the Python packages it imports, the tests skip; under CI=true
// they fail.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// officialCLIEnv names the variable that overrides where the CLI is.
const officialCLIEnv = "DSTACK_OFFICIAL_CLI"

var (
	officialCLIOnce sync.Once
	officialCLIPath string
	officialCLIErr  error
)

// officialCLIBinary returns the official CLI's launcher after checking once
// that it starts (its Python packages import); it skips the test when it
// cannot, or fails it under CI=true.
func officialCLIBinary(tb testing.TB) string {
	tb.Helper()
	officialCLIOnce.Do(func() { officialCLIPath, officialCLIErr = findOfficialCLI() })
	if officialCLIErr != nil {
		require.True(tb, os.Getenv("CI") != "true", "the official dstack CLI is required under CI=true: %v", officialCLIErr)
		tb.Skipf("the official dstack CLI cannot run here: %v", officialCLIErr)
	}
	return officialCLIPath
}

func findOfficialCLI() (string, error) {
	path := os.Getenv(officialCLIEnv)
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for dir := filepath.Dir(wd); ; dir = filepath.Dir(dir) {
			if p := filepath.Join(dir, "shared", "official-cli", "dstack"); isFile(p) {
				path = p
				break
			}
			if filepath.Dir(dir) == dir {
				return "", fmt.Errorf("no shared/official-cli/dstack beside %s or its parents; set %s", wd, officialCLIEnv)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // Python starts slowly on a busy machine
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = sandboxEnv(os.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v: %s (install what it imports: official-cli/install-deps.sh)", path, err, out)
	}
	return path, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// officialEnv is a `dstack server` of the built binary with its admin
// token, for official CLI users.
type officialEnv struct {
	Server *serverProc
}

// newOfficialEnv starts the built binary as a server (its own HOME, a free
// port) for the official CLI; the test skips without the CLI (fails under
// CI=true).
func newOfficialEnv(t testing.TB) *officialEnv {
	t.Helper()
	officialCLIBinary(t)
	return &officialEnv{Server: startServer(t, t.TempDir(), nil)}
}

// NewProject creates a project (the admin its owner), for tests whose fleets
// and runs must stay apart from others'; it returns the name.
func (e *officialEnv) NewProject(t testing.TB, name string) string {
	t.Helper()
	st := api(t, e.Server.URL, e.Server.Token, "/api/projects/create", map[string]any{"project_name": name}, nil)
	require.True(t, st == 200, "projects/create %s: status %d", name, st)
	return name
}

// CLI is a new user of the official CLI: its own HOME and working
// directory, project main of the server configured as its default.
func (e *officialEnv) CLI(t testing.TB) *officialCLI {
	t.Helper()
	return e.CLIFor(t, "main", e.Server.Token)
}

// CLIFor is CLI for another project or user token.
func (e *officialEnv) CLIFor(t testing.TB, project, token string) *officialCLI {
	t.Helper()
	c := &officialCLI{t: t, bin: officialCLIBinary(t), Home: shortTempDir(t), URL: e.Server.URL, Project: project}
	c.Dir = filepath.Join(c.Home, "work")
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	// What `dstack project add --name P --url U --token T -y` writes (that
	// verb has its own test): one CLI start-up less per user.
	cfg := fmt.Sprintf("projects:\n- default: true\n  name: %s\n  token: %s\n  url: %s\n", project, token, e.Server.URL)
	c.WriteFile(filepath.Join(c.Home, ".dstack", "config.yml"), cfg)
	return c
}

// shortTempDir is a new directory under /tmp with a short name, removed at
// the test's end. The CLI's SSH control sockets live in ~/.dstack/ssh, and a
// Unix socket's path must stay under 108 bytes: t.TempDir's names, made
// of the test's name, are too long for a HOME.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "dcli")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// officialCLI runs the official CLI as one user: HOME, working directory
// and the environment are its own, none of the caller's DSTACK_* variables.
type officialCLI struct {
	Home    string // HOME: ~/.dstack/config.yml, ~/.dstack/ssh, ~/.ssh
	Dir     string // the working directory, where WriteFile writes
	URL     string // the server's
	Project string // the default project
	// Env holds extra "K=V" entries for every run.
	Env []string
	// Timeout bounds each run; 3 minutes when zero.
	Timeout time.Duration

	t   testing.TB
	bin string
}

// cliRun is what one CLI invocation did.
type cliRun struct {
	Args           []string
	Stdout, Stderr string
	Code           int
	Took           time.Duration
}

// Output is stdout then stderr.
func (r cliRun) Output() string { return r.Stdout + r.Stderr }

func (r cliRun) String() string {
	return fmt.Sprintf("dstack %s: exit code %d after %s\n--- stdout:\n%s--- stderr:\n%s",
		strings.Join(r.Args, " "), r.Code, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Run runs the CLI with args and returns what it did, whatever its exit
// code; a run past Timeout is killed and fails the test.
func (c *officialCLI) Run(args ...string) cliRun {
	c.t.Helper()
	return c.RunWith(nil, args...)
}

// command is the CLI's command line with its user's environment.
func (c *officialCLI) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.Dir
	// Rich wraps at COLUMNS when the output is not a terminal: wide enough
	// for a table row to stay on one line.
	cmd.Env = append(sandboxEnv(c.Home, "COLUMNS=250", "NO_COLOR=1"), c.Env...)
	return cmd
}

// RunWith is Run with stdin.
func (c *officialCLI) RunWith(stdin []byte, args ...string) cliRun {
	c.t.Helper()
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := c.command(ctx, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	r := cliRun{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	defer func() {
		c.t.Logf("dstack %s: exit code %d in %s", strings.Join(args, " "), r.Code, r.Took.Round(10*time.Millisecond))
	}()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		require.FailNow(c.t, fmt.Sprintf("still running after %s, killed:\n%s", timeout, r))
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		require.NoError(c.t, err, "dstack %s", strings.Join(args, " "))
	}
	return r
}

// Want runs the CLI and fails the test unless it exits with code and its
// output (stdout and stderr) contains each of want.
func (c *officialCLI) Want(code int, args ...string) cliRun {
	c.t.Helper()
	r := c.Run(args...)
	c.Check(r, code)
	return r
}

// Check fails the test unless r exited with code and its output contains
// each of want.
func (c *officialCLI) Check(r cliRun, code int, want ...string) {
	c.t.Helper()
	require.Equal(c.t, code, r.Code, "exit code\n%s", r)
	for _, w := range want {
		require.Contains(c.t, r.Output(), w, "output\n%s", r)
	}
}

// WriteFile writes a file (a configuration, a key) into the working
// directory, or at name if it is absolute, and returns its absolute path.
func (c *officialCLI) WriteFile(name, content string) string {
	c.t.Helper()
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.Dir, name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		require.NoError(c.t, err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		require.NoError(c.t, err)
	}
	return p
}

// WriteKey writes a host's SSH private key where a user keeps one and
// returns its path, for identity_file.
func (c *officialCLI) WriteKey(h *sshtest.Host) string {
	c.t.Helper()
	return c.WriteFile(filepath.Join("keys", h.Name), string(h.ClientKey))
}

// sshFleetYAML is the configuration of an SSH fleet of hosts whose jobs run
// as plain processes (the hosts' users cannot use Docker), the user and
// key given once for all hosts; extra lines (YAML at the top level, e.g.
// "placement: cluster") are appended.
func (c *officialCLI) sshFleetYAML(name string, hosts []*sshtest.Host, extra ...string) string {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "type: fleet\nname: %s\nenv:\n  DSTACK_SHIM_EXECUTOR: process\n", name)
	fmt.Fprintf(&b, "ssh_config:\n  user: %s\n  identity_file: %s\n  hosts:\n", hosts[0].User, c.WriteKey(hosts[0]))
	for _, h := range hosts {
		if h.User != hosts[0].User {
			fmt.Fprintf(&b, "    - hostname: %s\n      user: %s\n      identity_file: %s\n", h.Addr, h.User, c.WriteKey(h))
			continue
		}
		fmt.Fprintf(&b, "    - %s\n", h.Addr)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// ApplyFleet writes an SSH fleet of hosts and applies it, waiting (as the
// CLI does) until its instances are provisioned; it fails the test unless
// every instance ends up idle.
func (c *officialCLI) ApplyFleet(name string, hosts []*sshtest.Host, extra ...string) cliRun {
	c.t.Helper()
	path := c.WriteFile(name+".dstack.yml", c.sshFleetYAML(name, hosts, extra...))
	r := c.Run("apply", "-f", path, "-y")
	c.Check(r, 0, "Fleet "+name+" does not exist yet.")
	require.Equal(c.t, len(hosts), strings.Count(r.Stdout, " idle "), "idle instances\n%s", r)
	return r
}

// taskResources keep a configuration within what a test host has
// (upstream's default task asks for 100GB.. of disk).
const taskResources = "resources:\n  cpu: 1..\n  memory: 0.1GB..\n  disk: 1GB..\n"
