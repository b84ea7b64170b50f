package background

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Metrics collection limits (upstream's): the running jobs looked at per
// pass, and how many runners are asked at once.
const (
	metricsJobsPerPass = 100
	metricsParallel    = 10
	// metricsCallTimeout bounds one runner's answer: a host that hangs
	// costs its job one sample, never the pass.
	metricsCallTimeout = 5 * time.Second
	metricsPruneEvery  = 5 * time.Minute
)

// JobMetrics samples the resource usage of running jobs from their runners
// (GET /api/metrics through the pooled SSH connection) every
// sched.MetricsEvery into job_metrics_points, and prunes samples past
// their retention. It changes no job: a job it cannot reach just misses a
// sample. Several replicas may run it; a job sampled within
// sched.MetricsMinInterval by any of them is skipped.
type JobMetrics struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger
	// RunningTTL and FinishedTTL are the retentions of the samples of
	// running and of finished jobs (DSTACK_SERVER_METRICS_RUNNING_TTL_SECONDS,
	// DSTACK_SERVER_METRICS_FINISHED_TTL_SECONDS); the defaults when 0.
	RunningTTL, FinishedTTL time.Duration
	// Every is the interval between passes (sched.MetricsEvery when 0).
	Every time.Duration
}

// Run collects every interval and prunes every five minutes until ctx ends.
func (m *JobMetrics) Run(ctx context.Context) {
	every := m.Every
	if every <= 0 {
		every = sched.MetricsEvery
	}
	var lastPrune time.Time
	for {
		m.pass(ctx, func(ctx context.Context) {
			if n, err := m.Collect(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("collect job metrics", "err", err)
			} else if n > 0 {
				m.Log.Debug("collected job metrics", "jobs", n)
			}
		}, every)
		if now := time.Now(); now.Sub(lastPrune) >= metricsPruneEvery {
			lastPrune = now
			m.pass(ctx, func(ctx context.Context) {
				if n, err := m.Prune(ctx, now); err != nil && ctx.Err() == nil {
					m.Log.Warn("prune job metrics", "err", err)
				} else if n > 0 {
					m.Log.Debug("pruned job metrics", "points", n)
				}
			}, metricsPruneEvery)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}

// pass runs f with its own timeout; a panic is logged, not spread.
func (m *JobMetrics) pass(ctx context.Context, f func(context.Context), timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			m.Log.Error("job metrics pass panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	f(ctx)
}

// Collect samples the running jobs not sampled recently and reports how
// many samples it stored.
func (m *JobMetrics) Collect(ctx context.Context) (int, error) {
	jobs, err := db.ListRunningJobs(ctx, m.Env.DB, metricsJobsPerPass)
	if err != nil {
		return 0, fmt.Errorf("list running jobs: %w", err)
	}
	ids := make([]string, len(jobs))
	byID := map[string]*db.Job{}
	for i := range jobs {
		ids[i], byID[jobs[i].ID] = jobs[i].ID, &jobs[i]
	}
	recent, err := db.JobsWithMetricsSince(ctx, m.Env.DB, ids, time.Now().Add(-sched.MetricsMinInterval).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("find recent job metrics: %w", err)
	}
	due := sched.MetricsDue(ids, recent)
	points := make([]*db.JobMetricsPoint, len(due))
	var wg sync.WaitGroup
	sem := make(chan struct{}, metricsParallel)
	for i, id := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			defer func() {
				if r := recover(); r != nil {
					m.Log.Error("job metrics sample panicked", "job_id", id, "panic", r)
				}
			}()
			p, err := m.sample(ctx, byID[id])
			if err != nil {
				m.Log.Debug("no metrics from a running job", "job", byID[id].JobName, "job_id", id, "err", err)
				return
			}
			points[i] = p
		}()
	}
	wg.Wait()
	var out []db.JobMetricsPoint
	for _, p := range points {
		if p != nil {
			out = append(out, *p)
		}
	}
	if err := db.InsertJobMetricsPoints(ctx, m.Env.DB, out); err != nil {
		return 0, fmt.Errorf("store job metrics: %w", err)
	}
	return len(out), nil
}

// sample asks a job's runner for its metrics.
func (m *JobMetrics) sample(ctx context.Context, j *db.Job) (*db.JobMetricsPoint, error) {
	ctx, cancel := context.WithTimeout(ctx, metricsCallTimeout)
	defer cancel()
	d, err := decodeJob(j)
	if err != nil {
		return nil, err
	}
	ja, err := (agents{env: m.Env, pool: m.Pool}).forJob(ctx, j)
	if err != nil {
		return nil, err
	}
	sm, err := ja.runner(d.jrd).Metrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("get metrics of %s: %w", j.JobName, err)
	}
	gpuMem, gpuUtil := make([]uint64, len(sm.GPUMetrics)), make([]uint64, len(sm.GPUMetrics))
	for i, g := range sm.GPUMetrics {
		gpuMem[i], gpuUtil[i] = g.GPUMemoryUsage, g.GPUUtil
	}
	return &db.JobMetricsPoint{ID: uuid.NewString(), JobID: j.ID, TimestampMicro: sm.Timestamp,
		CPUUsageMicro: int64(sm.CPUUsage), MemoryUsageBytes: int64(sm.MemoryUsage), MemoryWorkingSetBytes: int64(sm.MemoryWorkingSet),
		GpusMemoryUsageBytes: mustJSONList(gpuMem), GpusUtilPercent: mustJSONList(gpuUtil)}, nil
}

func mustJSONList(v []uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Prune deletes the samples past their retention: of running jobs after
// RunningTTL, of finished ones after FinishedTTL. It reports how many.
func (m *JobMetrics) Prune(ctx context.Context, now time.Time) (int64, error) {
	runningTTL, finishedTTL := m.RunningTTL, m.FinishedTTL
	if runningTTL <= 0 {
		runningTTL = sched.MetricsRunningTTL
	}
	if finishedTTL <= 0 {
		finishedTTL = sched.MetricsFinishedTTL
	}
	running, finished := sched.MetricsCutoffs(now, runningTTL, finishedTTL)
	n, err := db.DeleteJobMetricsPoints(ctx, m.Env.DB, []string{string(schemas.JobRunning)}, running)
	if err != nil {
		return n, err
	}
	finals := []string{string(schemas.JobTerminated), string(schemas.JobAborted), string(schemas.JobFailed), string(schemas.JobDone)}
	k, err := db.DeleteJobMetricsPoints(ctx, m.Env.DB, finals, finished)
	return n + k, err
}
