package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestLogBufferIsBoundedAndOrdered(t *testing.T) {
	b := newLogBuffer(&clock{}, 100)
	for i := 0; i < 5000; i++ {
		_, _ = b.Write([]byte("0123456789"))
	}
	all := b.Between(0, 1<<62)
	if len(all) != 10 {
		require.FailNow(t, fmt.Sprintf("kept %d events, want 10", len(all)))
	}
	if b.Dropped() != 4990 {
		require.FailNow(t, fmt.Sprintf("dropped %d", b.Dropped()))
	}
	for i := 1; i < len(all); i++ {
		require.True(t, all[i].Timestamp > all[i-1].Timestamp, "timestamps not increasing at %d", i)
	}
	mid := all[4].Timestamp
	if got := b.Between(mid, all[7].Timestamp); len(got) != 3 || got[0].Timestamp != all[5].Timestamp {
		require.FailNow(t, fmt.Sprintf("Between = %d events", len(got)))
	}
	// A single event larger than the limit is kept.
	_, _ = b.Write(bytes.Repeat([]byte("x"), 500))
	if got := b.Between(0, 1<<62); len(got) != 1 || len(got[0].Message) != 500 {
		require.FailNow(t, fmt.Sprintf("oversized event: %d events", len(got)))
	}
}

func TestJobTransitions(t *testing.T) {
	s := schemas.JobStateRunning
	cases := []struct {
		from, to schemas.JobState
		ok       bool
	}{
		{jobSubmitted, s, true},
		{jobSubmitted, schemas.JobStateFailed, true},
		{jobSubmitted, schemas.JobStateTerminated, true},
		{jobSubmitted, schemas.JobStateDone, false},
		{s, schemas.JobStateDone, true},
		{s, schemas.JobStateFailed, true},
		{s, schemas.JobStateTerminated, true},
		{s, s, false},
		{schemas.JobStateDone, schemas.JobStateFailed, false},
		{schemas.JobStateTerminated, s, false},
	}
	for _, c := range cases {
		if got := jobTransitionAllowed(c.from, c.to); got != c.ok {
			assert.Fail(t, fmt.Sprintf("%s -> %s = %v, want %v", c.from, c.to, got, c.ok))
		}
	}
}

func TestFlagsRoundTrip(t *testing.T) {
	in := Config{
		HTTPAddress: "0.0.0.0", HTTPPort: 10999, TempDir: "/tmp/runner", DstackDir: "/dstack",
		WorkDir: "/w", Shell: "/bin/sh", SSHPort: 10022, LogLevel: "debug", Version: "1.2.3",
		MetricsScope: MetricsScopeProcess, SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA a@b", "ssh-rsa BBBB c@d"},
	}
	out, err := ParseFlags(in.Args())
	require.NoError(t, err)
	require.Equal(t, out, in, "round trip:\n in=%+v\nout=%+v", in, out)
	_, err = ParseFlags([]string{"--nope"})
	require.Error(t, err, "unknown flag accepted")
	_, err = ParseFlags([]string{"--metrics-scope", "host"})
	require.EqualError(t, err, `parse runner flags: --metrics-scope "host": accepted values are cgroup and process`)
}

func TestSafeJoinRejectsEscapes(t *testing.T) {
	for _, name := range []string{"../x", "a/../../x", "/../../etc/passwd"} {
		if p, err := safeJoin("/dest", name); err == nil && !strings.HasPrefix(p, "/dest/") {
			assert.Fail(t, fmt.Sprintf("%q -> %q escapes", name, p))
		}
	}
	if p, err := safeJoin("/dest", "./a/b"); err != nil || p != "/dest/a/b" {
		require.FailNow(t, fmt.Sprintf("safeJoin = %q, %v", p, err))
	}
}

func TestCommandArgv(t *testing.T) {
	s := New(Config{Shell: "/bin/sh"}, nil)
	if got := s.commandArgv([]string{"/bin/sh", "-c", "echo"}); len(got) != 3 || got[0] != "/bin/sh" {
		require.FailNow(t, fmt.Sprintf("argv passthrough = %q", got))
	}
	got := s.commandArgv([]string{"echo a", "exit 1"})
	if want := []string{"/bin/sh", "-c", "echo a && exit 1"}; !reflect.DeepEqual(got, want) {
		require.FailNow(t, fmt.Sprintf("shell lines = %q, want %q", got, want))
	}
}

func TestParseNvidiaMetrics(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "hostinfo", name))
		require.NoError(t, err)
		return data
	}
	if got := parseNvidiaMetrics(read("nvidia-smi-metrics-h100.csv")); !reflect.DeepEqual(got, []schemas.GPUMetrics{{}}) {
		require.FailNow(t, fmt.Sprintf("idle H100 = %+v", got))
	}
	want := []schemas.GPUMetrics{{GPUMemoryUsage: 1024 << 20, GPUUtil: 37}, {GPUMemoryUsage: 80000 << 20, GPUUtil: 100}}
	if got := parseNvidiaMetrics(read("nvidia-smi-metrics-busy.csv")); !reflect.DeepEqual(got, want) {
		require.FailNow(t, fmt.Sprintf("busy = %+v", got))
	}
}
