package cli_test

// Plumbing of the end-to-end tests and benchmarks: build the real binary once,
// run `dstack server` and the CLI verbs in a sandboxed HOME, talk HTTP to it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/servertest"
)

// dstackBinary builds the module's static binary once per test run (by the
// first test that needs it, so unit tests of this package do not pay).
func dstackBinary(tb testing.TB) string { return servertest.Binary(tb) }

// sandboxEnv is the environment with HOME and the server dir under home and
// every DSTACK_* variable of the caller's environment removed; extra entries
// ("K=V") are appended and win over earlier ones.
func sandboxEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DSTACK_") || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "DSTACK_SERVER_DIR="+filepath.Join(home, ".dstack", "server"))
	return append(env, extra...)
}

// freePort returns a TCP port that nothing listened on a moment ago.
func freePort(tb testing.TB) int { return servertest.FreePort(tb) }

// listening reports whether something accepts connections on port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// lockedBuffer collects a process's output; ready closes when the announce
// line of a started server has been written.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.ready != nil && strings.Contains(b.buf.String(), "The server is running at") {
		b.once.Do(func() { close(b.ready) })
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverProc is a `dstack server` process.
type serverProc struct {
	Home, URL, Token string
	Port             int
	env, args        []string
	pickPort         bool // Port came from freePort: retry on another if it was taken meanwhile
	cmd              *exec.Cmd
	stdout, stderr   *lockedBuffer
	done             chan struct{} // closed once cmd has exited
}

// launchServer starts `dstack server --port PORT args...` with env and
// kills it at cleanup. Port 0 picks a free port. It does not wait.
func launchServer(tb testing.TB, env []string, port int, args ...string) *serverProc {
	tb.Helper()
	s := &serverProc{env: env, args: args, pickPort: port == 0}
	s.start(tb, port)
	return s
}

func (s *serverProc) start(tb testing.TB, port int) {
	tb.Helper()
	if port == 0 {
		port = freePort(tb)
	}
	cmd := exec.Command(dstackBinary(tb), append([]string{"server", "--port", strconv.Itoa(port)}, s.args...)...)
	stdout, done := &lockedBuffer{ready: make(chan struct{})}, make(chan struct{})
	s.Port, s.cmd, s.stdout, s.stderr, s.done = port, cmd, stdout, &lockedBuffer{}, done
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, s.stdout, s.stderr
	require.NoError(tb, cmd.Start())
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
}

var (
	tokenRe = regexp.MustCompile(`The admin token is "([^"]*)"`)
	urlRe   = regexp.MustCompile(`The server is running at (\S+?)/?\n`)
)

// startServer launches a server in home on a free port and waits until it
// announces that it is running; it fails the test otherwise.
func startServer(tb testing.TB, home string, extraEnv []string, args ...string) *serverProc {
	tb.Helper()
	return startServerAt(tb, home, 0, extraEnv, args...)
}

// startServerAt is startServer on a given port (0: a free one).
func startServerAt(tb testing.TB, home string, port int, extraEnv []string, args ...string) *serverProc {
	tb.Helper()
	s := launchServer(tb, sandboxEnv(home, extraEnv...), port, args...)
	s.Home = home
	s.WaitReady(tb)
	return s
}

// WaitReady waits for the announce lines and reads the admin token and URL.
// A free port that something else took before the server bound it (an
// outgoing connection of a parallel test, say) is retried on another port.
func (s *serverProc) WaitReady(tb testing.TB) {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		select {
		case <-s.stdout.ready:
		case <-s.done:
			if s.pickPort && attempt < 4 && strings.Contains(s.stderr.String(), "already in use") {
				tb.Logf("port %d was taken before the server bound it; retrying on another", s.Port)
				s.start(tb, 0)
				continue
			}
			require.FailNow(tb, fmt.Sprintf("server exited before it was ready (%v):\n%s", s.cmd.ProcessState, s.Output()))
		case <-time.After(30 * time.Second):
			require.FailNow(tb, fmt.Sprintf("server not ready after 30s:\n%s", s.Output()))
		}
		break
	}
	out := s.stdout.String()
	m := tokenRe.FindStringSubmatch(out)
	u := urlRe.FindStringSubmatch(out)
	require.NotNil(tb, m, "no admin token in the server's output:\n%s", s.Output())
	require.NotNil(tb, u, "no URL in the server's output:\n%s", s.Output())
	s.Token, s.URL = m[1], u[1]
}

// Output is everything the server wrote: stdout, then stderr.
func (s *serverProc) Output() string {
	return "--- stdout:\n" + s.stdout.String() + "--- stderr:\n" + s.stderr.String()
}

// WaitExit waits for the process to end and returns its exit code, or -1
// with ok false after timeout.
func (s *serverProc) WaitExit(timeout time.Duration) (code int, ok bool) {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

// Stop sends SIGTERM and waits up to 10 s for the exit code.
func (s *serverProc) Stop(tb testing.TB) int {
	tb.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	code, ok := s.WaitExit(10 * time.Second)
	require.True(tb, ok, "server still running 10s after SIGTERM:\n%s", s.Output())
	return code
}

// runResult is the outcome of one CLI invocation.
type runResult struct {
	Stdout, Stderr string
	Code           int
}

// wantRun runs the binary with env, checks its exit code and that its
// combined output contains each of want, and returns what it printed.
func wantRun(tb testing.TB, env []string, code int, want []string, args ...string) runResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dstackBinary(tb), args...)
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) {
		require.NoError(tb, err, "dstack %s", strings.Join(args, " "))
	}
	r := runResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
	all := r.Stdout + r.Stderr
	require.Equal(tb, code, r.Code, "dstack %s: exit code\n%s", strings.Join(args, " "), all)
	for _, w := range want {
		require.Contains(tb, all, w, "dstack %s: output", strings.Join(args, " "))
	}
	return r
}

// api posts body to the server (nil: no body and no Content-Type, as some
// clients do) and decodes a 200 answer into out; it returns the HTTP status.
func api(tb testing.TB, url, token, path string, body, out any) int {
	tb.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(data))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(tb, err, "POST %s", path)
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK && out != nil {
		require.NoError(tb, json.NewDecoder(res.Body).Decode(out), "POST %s: decode", path)
	}
	return res.StatusCode
}

// postgresDSN is DSTACK_TEST_POSTGRES_DSN; without it the test is skipped,
// or fails when CI=true.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("DSTACK_TEST_POSTGRES_DSN")
	if dsn == "" {
		require.True(tb, os.Getenv("CI") != "true", "CI=true but DSTACK_TEST_POSTGRES_DSN is unset: the PostgreSQL end-to-end tests must run in CI")
		tb.Skip("DSTACK_TEST_POSTGRES_DSN is unset")
	}
	return dsn
}

// freshDatabase creates an empty database on the server of dsn, drops it at
// cleanup (after the servers started later are gone), and returns its URL in
// upstream's postgresql+asyncpg:// form.
func freshDatabase(tb testing.TB, dsn string) string {
	tb.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "dstack_e2e_" + hex.EncodeToString(rnd[:])
	exec := func(q string) error {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(ctx, q)
		return err
	}
	require.NoError(tb, exec("CREATE DATABASE "+name), "create database %s", name)
	tb.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(dsn)
	require.NoError(tb, err, "DSTACK_TEST_POSTGRES_DSN")
	u.Scheme, u.Path = "postgresql+asyncpg", "/"+name
	return u.String()
}
