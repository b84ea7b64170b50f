package cli

// Shared plumbing of the client verbs' unit tests: fixtures shaped like the
// real server's answers (testdata/compat/responses), golden outputs
// (testdata/compat/golden, rewritten with -update), a fake server that
// records requests, and an in-process runner of the command line.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/compat/golden")

// compatDir is absolute: some tests change the working directory.
var compatDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "testdata", "compat")
}()

// goldenNow is "now" for rendered tables; the fixtures' times are around it.
var goldenNow = time.Date(2026, 8, 21, 14, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(compatDir, "responses", name))
	require.NoError(t, err)
	return data
}

func decodeFixture[T any](t testing.TB, name string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(fixture(t, name), &v), name)
	return v
}

// golden compares got with testdata/compat/golden/name, or rewrites it.
func golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join(compatDir, "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./cli -run %s -update` to create it", t.Name())
	require.Equal(t, string(want), got, "golden %s differs (rerun with -update if the change is intended)", name)
}

func renderString(t testing.TB, g *grid, width int) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, g.render(&b, width))
	return b.String()
}

// recorded is one request the fake server received.
type recorded struct {
	Path   string
	Header http.Header
	Body   []byte
}

// reply is a canned answer: a status and a body (a fixture name when it
// ends in .json, else literal JSON).
type reply struct {
	status int
	body   string
}

func ok(body string) reply { return reply{http.StatusOK, body} }

// fakeServer answers each path with its queue of replies (the last one
// repeats) and records every request; unknown paths get upstream's 404.
type fakeServer struct {
	*httptest.Server
	t      testing.TB
	mu     sync.Mutex
	reqs   []recorded
	routes map[string][]reply
}

func newFake(t testing.TB) *fakeServer {
	f := &fakeServer{t: t, routes: map[string][]reply{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) on(path string, replies ...reply) *fakeServer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[path] = replies
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	queue := f.routes[r.URL.Path]
	var rep reply
	switch len(queue) {
	case 0:
		rep = reply{http.StatusNotFound, `{"detail":"Not Found"}`}
	case 1:
		rep = queue[0]
	default:
		rep, f.routes[r.URL.Path] = queue[0], queue[1:]
	}
	f.mu.Unlock()
	data := []byte(rep.body)
	if strings.HasSuffix(rep.body, ".json") {
		data = fixture(f.t, rep.body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(data)
}

// requests returns the bodies sent to path, in order.
func (f *fakeServer) requests(path string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// paths lists the paths called, in order.
func (f *fakeServer) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.reqs))
	for i, r := range f.reqs {
		out[i] = r.Path
	}
	return out
}

// clientVerbs are the commands of this package's client verbs.
func clientVerbs() []*cli.Command {
	return []*cli.Command{projectCommand(), secretCommand(), applyCommand(), psCommand(), logsCommand(),
		stopCommand(), deleteCommand(), fleetCommand(), offerCommand(), completionCommand()}
}

type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// runCLI runs the command line in-process like Run does, with the client
// verbs registered (whether or not cli.go lists them yet) and stdin given.
func runCLI(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp(Build{Version: "test"}, &stdout, &stderr)
	for _, c := range clientVerbs() {
		if findCommand(app.Commands, c.Name) == nil {
			app.Commands = append(app.Commands, c)
		}
	}
	app.Reader = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := app.RunContext(ctx, permuteArgs(app, append([]string{"dstack"}, args...)))
	res := cliResult{Code: 0}
	if err != nil {
		fmt.Fprintf(&stderr, "Error: %v\n", err)
		res.Code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			res.Code = ee.code
		}
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	return res
}

// mustJSON encodes v for a canned reply.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}

// flags are the connection flags for a fake server.
func (f *fakeServer) flags() []string {
	return []string{"--url", f.URL, "--token", "tok", "--project", "main"}
}

func TestGridFitsWidth(t *testing.T) {
	g := newGrid("NAME~", "STATUS", "RESOURCES~")
	g.add("a-very-long-run-name", "running", "cpu=16 mem=64GB disk=500GB gpu=A100:40GB:2")
	g.add("b", "done")
	require.Equal(t, "NAME                  STATUS   RESOURCES\n"+
		"a-very-long-run-name  running  cpu=16 mem=64GB disk=500GB gpu=A100:40GB:2\n"+
		"b                     done\n", renderString(t, g, 0))
	narrow := renderString(t, g, 50)
	for _, line := range strings.Split(strings.TrimSpace(narrow), "\n") {
		require.LessOrEqual(t, len([]rune(line)), 50, narrow)
	}
	require.Contains(t, narrow, "…")
	require.Contains(t, narrow, "running", "fixed columns are never cut")
}

func TestFormatters(t *testing.T) {
	require.Equal(t, "$0", formatPrice(0))
	require.Equal(t, "$31.4641", formatPrice(31.46412))
	require.Equal(t, "$1.2", formatPrice(1.2))
	require.Equal(t, "2h", formatDuration(7200))
	require.Equal(t, "90s", formatDuration(90))
	require.Equal(t, "0.5GB", formatGB(512))
	require.Equal(t, "ssh (remote)", formatBackend("remote", "remote"))
	require.Equal(t, "a, b and c", joinNames([]string{"a", "b", "c"}))
}
