package runner

import (
	"bytes"
	"os"
	"path/filepath"
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
	require.Len(t, all, 10, "kept events")
	require.Equal(t, 4990, b.Dropped(), "dropped")
	for i := 1; i < len(all); i++ {
		require.True(t, all[i].Timestamp > all[i-1].Timestamp, "timestamps not increasing at %d", i)
	}
	mid := all[4].Timestamp
	got := b.Between(mid, all[7].Timestamp)
	require.Len(t, got, 3, "Between")
	require.Equal(t, all[5].Timestamp, got[0].Timestamp, "Between: first timestamp")
	// A single event larger than the limit is kept.
	_, _ = b.Write(bytes.Repeat([]byte("x"), 500))
	got = b.Between(0, 1<<62)
	require.Len(t, got, 1, "oversized event")
	require.Len(t, got[0].Message, 500, "oversized event")
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
		assert.Equal(t, c.ok, jobTransitionAllowed(c.from, c.to), "%s -> %s", c.from, c.to)
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
		if p, err := safeJoin("/dest", name); err == nil {
			assert.True(t, strings.HasPrefix(p, "/dest/"), "%q -> %q escapes", name, p)
		}
	}
	p, err := safeJoin("/dest", "./a/b")
	require.NoError(t, err, "safeJoin")
	require.Equal(t, "/dest/a/b", p, "safeJoin")
}

func TestCommandArgv(t *testing.T) {
	s := New(Config{Shell: "/bin/sh"}, nil)
	got := s.commandArgv([]string{"/bin/sh", "-c", "echo"})
	require.Len(t, got, 3, "argv passthrough")
	require.Equal(t, "/bin/sh", got[0], "argv passthrough")
	got = s.commandArgv([]string{"echo a", "exit 1"})
	require.Equal(t, []string{"/bin/sh", "-c", "echo a && exit 1"}, got, "shell lines")
}

func TestParseNvidiaMetrics(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "hostinfo", name))
		require.NoError(t, err)
		return data
	}
	require.Equal(t, []schemas.GPUMetrics{{}}, parseNvidiaMetrics(read("nvidia-smi-metrics-h100.csv")), "idle H100")
	want := []schemas.GPUMetrics{{GPUMemoryUsage: 1024 << 20, GPUUtil: 37}, {GPUMemoryUsage: 80000 << 20, GPUUtil: 100}}
	require.Equal(t, want, parseNvidiaMetrics(read("nvidia-smi-metrics-busy.csv")), "busy")

}
