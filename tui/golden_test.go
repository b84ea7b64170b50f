package tui

import (
	"github.com/dstackgo/dstack/server/schemas"

	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/tui")

// goldenDir holds the console's goldens, beside the other test data.
const goldenDir = "../testdata/tui"

// checkGolden compares a screen with its golden file (or rewrites it).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./tui -run Golden -update` to create it")
	require.Equal(t, string(want), got, "screen %s differs from %s", name, path)
}

// checkScreen asserts the frame invariants: exactly h lines, none wider than w.
func checkScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	require.Len(t, lines, h)
	for i, l := range lines {
		require.LessOrEqual(t, len([]rune(l)), w, "line %d is too wide: %q", i, l)
	}
}

func TestGoldenPages(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeBackend)
		keys  []string
	}{
		{name: "runs"},
		{name: "runs_filter", keys: []string{"/", "t", "r", "a", "i", "n", "enter"}},
		{name: "runs_confirm_stop", keys: []string{"down", "s"}},
		{name: "runs_jobs", keys: []string{"down", "down", "enter"}},
		{name: "runs_not_available", setup: func(f *fakeBackend) {
			f.errs["ListRuns"] = fmt.Errorf("%w (not found: /api/runs/list (is this URL a dstack server?))", ErrNotAvailable)
		}},
		{name: "runs_empty", setup: func(f *fakeBackend) { f.runs = nil }},
		{name: "fleets", keys: []string{"2"}},
		{name: "logs", keys: []string{"down", "3"}},
		{name: "logs_search", keys: []string{"down", "3", "/", "s", "t", "e", "p", " ", "1", "2", "enter"}},
		{name: "logs_no_run", setup: func(f *fakeBackend) { f.runs = nil }, keys: []string{"3"}},
		{name: "keys", keys: []string{"4"}},
		{name: "keys_not_admin", setup: func(f *fakeBackend) { f.ident.Admin = false }, keys: []string{"4"}},
		{name: "server", keys: []string{"5"}},
		{name: "server_replicated", setup: func(f *fakeBackend) {
			f.status.Replication = &schemas.ReplicationStatus{URL: "s3://backups/dstack", LocalTXID: 120, ReplicaTXID: 118, LagSeconds: 2}
		}, keys: []string{"5"}},
		{name: "server_not_available", setup: func(f *fakeBackend) {
			f.errs["ServerStatus"] = fmt.Errorf("%w (not found: /api/admin/server/status)", ErrNotAvailable)
		}, keys: []string{"5"}},
		{name: "events", keys: []string{"6"}},
		{name: "events_empty", setup: func(f *fakeBackend) { f.events = nil }, keys: []string{"6"}},
		{name: "backends", keys: []string{"7"}},
		{name: "backends_none", setup: func(f *fakeBackend) { f.bends = nil }, keys: []string{"7"}},
		{name: "services", setup: func(f *fakeBackend) { f.runs, f.svcStats = append(f.runs, testService()), testServiceStats() },
			keys: []string{"8"}},
		{name: "services_none", keys: []string{"8"}},
		{name: "help", keys: []string{"?"}},
		{name: "lost_server", setup: func(f *fakeBackend) { f.errs["Whoami"] = nil }, keys: []string{"!down"}},
	}
	for _, tt := range tests {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			w, h := size[0], size[1]
			t.Run(fmt.Sprintf("%s_%dx%d", tt.name, w, h), func(t *testing.T) {
				f := newFake()
				if tt.setup != nil {
					tt.setup(f)
				}
				hn := newHarness(t, f, w, h)
				for _, k := range tt.keys {
					if k == "!down" {
						f.down = true
						hn.tick()
						continue
					}
					hn.keys(k)
				}
				screen := hn.m.View()
				checkScreen(t, screen, w, h)
				checkGolden(t, fmt.Sprintf("%s_%dx%d", tt.name, w, h), screen)
			})
		}
	}
}
