package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// Metrics scopes (Config.MetricsScope).
const (
	// MetricsScopeCgroup reads the runner's cgroup: in a container, the job's.
	MetricsScopeCgroup = "cgroup"
	// MetricsScopeProcess sums the job's process tree from /proc: on a host
	// (the shim's process executor) the runner's cgroup is shared with
	// everything else the host runs.
	MetricsScopeProcess = "process"
)

// clockTicksMicro is one clock tick (USER_HZ, 100 on every Linux ABI) in µs.
const clockTicksMicro = 1_000_000 / 100

// errNoJobProcess: process-scope metrics exist only while the job runs.
var errNoJobProcess = errors.New("the job has no running process")

// procStat is what metrics need of /proc/PID/stat.
type procStat struct {
	ppid  int
	ticks uint64 // utime + stime + cutime + cstime
}

// parseProcStat reads /proc/PID/stat; the command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseProcStat(data string) (procStat, error) {
	i := strings.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse stat: no command name in %q", data)
	}
	f := strings.Fields(data[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parse stat: %d fields after the command name, want 15 or more", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat ppid: %w", err)
	}
	var ticks uint64
	for _, s := range f[11:15] { // fields 14-17: utime stime cutime cstime
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("parse stat times: %w", err)
		}
		ticks += uint64(max(v, 0))
	}
	return procStat{ppid: ppid, ticks: ticks}, nil
}

// processTreeMetrics sums the CPU time and resident memory of the process
// root and its descendants under procDir (/proc). CPU time includes the
// children each of them has reaped, so the sum does not drop when a
// short-lived child exits.
func processTreeMetrics(procDir string, root int) (*schemas.SystemMetrics, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", procDir, err)
	}
	stats := map[int]procStat{}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		st, err := parseProcStat(string(data))
		if err != nil {
			continue
		}
		stats[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	if _, ok := stats[root]; !ok {
		return nil, errNoJobProcess
	}
	m := &schemas.SystemMetrics{Timestamp: time.Now().UnixMicro(), GPUMetrics: []schemas.GPUMetrics{}}
	page := uint64(os.Getpagesize())
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		pid := queue[0]
		m.CPUUsage += stats[pid].ticks * clockTicksMicro
		if data, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "statm")); err == nil {
			if f := strings.Fields(string(data)); len(f) > 1 {
				rss, _ := strconv.ParseUint(f[1], 10, 64)
				m.MemoryUsage += rss * page
			}
		}
		queue = append(queue, children[pid]...)
	}
	m.MemoryWorkingSet = m.MemoryUsage // resident pages are all in use
	return m, nil
}

// metrics answers /api/metrics for the configured scope.
func (s *Server) metrics(ctx context.Context) (*schemas.SystemMetrics, error) {
	if s.cfg.MetricsScope != MetricsScopeProcess {
		return collectMetrics(ctx)
	}
	pid := int(s.jobPID.Load())
	if pid == 0 {
		return nil, errNoJobProcess
	}
	m, err := processTreeMetrics("/proc", pid)
	if err != nil {
		return nil, err
	}
	m.GPUMetrics = nvidiaMetrics(ctx)
	return m, nil
}
