//go:build linux

package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    procStat
		wantErr string
	}{
		{name: "plain", in: "42 (bash) S 7 42 42 0 -1 4194560 100 0 0 0 150 25 10 5 20 0 1 0 100 1000 200",
			want: procStat{ppid: 7, ticks: 190}},
		{name: "a command name with spaces and parentheses", in: "9 (a b) (c)) R 1 9 9 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1",
			want: procStat{ppid: 1, ticks: 7}},
		{name: "truncated", in: "9 (x) R 1 9", wantErr: "parse stat: 3 fields after the command name, want 15 or more"},
		{name: "no name", in: "garbage", wantErr: `parse stat: no command name in "garbage"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStat(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// A job's process tree on a host: the CPU a busy grandchild burns and the
// memory it holds are counted, and a process outside the tree is not.
func TestProcessTreeMetrics(t *testing.T) {
	job := exec.Command("sh", "-c", `sh -c 'x=0; while :; do x=$((x+1)); done' & python3 -c 'b = b"x" * (64 << 20); import time; time.sleep(30)' & wait`)
	job.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, job.Start())
	t.Cleanup(func() { _ = syscall.Kill(-job.Process.Pid, syscall.SIGKILL); _ = job.Wait() })
	other := exec.Command("sleep", "30")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	var first uint64
	require.Eventually(t, func() bool {
		m, err := processTreeMetrics("/proc", job.Process.Pid)
		require.NoError(t, err)
		first = m.CPUUsage
		return m.MemoryUsage > 64<<20 && m.MemoryWorkingSet == m.MemoryUsage
	}, 10*time.Second, 100*time.Millisecond, "the tree holds the 64 MiB buffer")
	require.Eventually(t, func() bool {
		m, err := processTreeMetrics("/proc", job.Process.Pid)
		require.NoError(t, err)
		return m.CPUUsage > first
	}, 10*time.Second, 200*time.Millisecond, "the busy loop burns CPU")

	alone, err := processTreeMetrics("/proc", other.Process.Pid)
	require.NoError(t, err)
	require.Less(t, alone.MemoryUsage, uint64(32<<20), "sleep alone")

	_, err = processTreeMetrics("/proc", 1<<30)
	require.ErrorIs(t, err, errNoJobProcess)
}

// On a host the runner measures the job's process tree and asks
// nvidia-smi for the GPUs (a script on PATH stands in for it here: the
// machine has no GPU), and says so while no job runs.
func TestRunnerMetricsProcessScope(t *testing.T) {
	csv, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "hostinfo", "nvidia-smi-metrics-busy.csv"))
	require.NoError(t, err)
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "nvidia-smi"),
		[]byte("#!/bin/sh\n[ \"$1 $2\" = \"--query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits\" ] || exit 2\ncat <<'EOF'\n"+string(csv)+"EOF\n"), 0o755))
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))

	s := New(Config{MetricsScope: MetricsScopeProcess, HTTPPort: -1}, nil)
	_, err = s.metrics(t.Context())
	require.ErrorIs(t, err, errNoJobProcess)

	job := exec.Command("sleep", "30")
	require.NoError(t, job.Start())
	t.Cleanup(func() { _ = job.Process.Kill(); _ = job.Wait() })
	s.jobPID.Store(int64(job.Process.Pid))
	m, err := s.metrics(t.Context())
	require.NoError(t, err)
	require.Positive(t, m.MemoryUsage)
	require.Equal(t, []schemas.GPUMetrics{{GPUMemoryUsage: 1024 << 20, GPUUtil: 37}, {GPUMemoryUsage: 80000 << 20, GPUUtil: 100}}, m.GPUMetrics)
}
