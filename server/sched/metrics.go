package sched

import (
	"math"
	"strconv"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// MetricsPoint is one stored sample of a job's resource usage: cumulative
// CPU time, memory, and per GPU memory and utilization.
type MetricsPoint struct {
	TimestampMicro   int64
	CPUUsageMicro    int64
	MemoryUsage      int64
	MemoryWorkingSet int64
	GpusMemoryUsage  []int64
	GpusUtil         []int64
}

// Metrics collection cadence and retention (upstream's).
const (
	// MetricsEvery is how often running jobs are sampled.
	MetricsEvery = 10 * time.Second
	// MetricsMinInterval: a job sampled more recently (by another pass or
	// replica) is skipped.
	MetricsMinInterval = 9 * time.Second
	// MetricsRunningTTL and MetricsFinishedTTL are the default retentions
	// of a running and of a finished job's samples.
	MetricsRunningTTL  = time.Hour
	MetricsFinishedTTL = 7 * 24 * time.Hour
)

// MetricsDue returns the jobs to sample in this pass: those without a
// sample newer than MetricsMinInterval (recent), in the given order.
func MetricsDue(jobIDs []string, recent map[string]bool) []string {
	var out []string
	for _, id := range jobIDs {
		if !recent[id] {
			out = append(out, id)
		}
	}
	return out
}

// MetricsCutoffs are the times (Unix µs) before which samples are pruned:
// of running jobs and of finished ones.
func MetricsCutoffs(now time.Time, runningTTL, finishedTTL time.Duration) (running, finished int64) {
	return now.Add(-runningTTL).UnixMicro(), now.Add(-finishedTTL).UnixMicro()
}

// JobMetricsSeries turns a job's samples (newest first) into upstream's
// series, newest first, one value per sample but the oldest: the CPU use of
// a sample is the CPU time it adds to the sample before it over the time
// between them, in percent of one CPU. With res (the job's instance
// resources), the CPU count and memory total come as constant series, and
// the memory of its first GPU as gpu_memory_total_bytes. Per-GPU series
// are left out when the number of GPUs changes within the samples (a GPU
// is known by its index only). Fewer than two samples give no series.
func JobMetricsSeries(points []MetricsPoint, res *schemas.Resources) schemas.JobMetrics {
	if len(points) < 2 {
		return schemas.JobMetrics{Metrics: []schemas.Metric{}}
	}
	n := len(points) - 1
	ts := make([]time.Time, n)
	cpu, mem, ws := make([]int64, n), make([]int64, n), make([]int64, n)
	gpus := len(points[0].GpusMemoryUsage)
	gpuMismatch := false
	for i := range n {
		p, prev := points[i], points[i+1]
		ts[i] = time.UnixMicro(p.TimestampMicro).UTC()
		cpu[i] = cpuPercent(p, prev)
		mem[i], ws[i] = p.MemoryUsage, p.MemoryWorkingSet
		if len(p.GpusMemoryUsage) != gpus || len(p.GpusUtil) != gpus {
			gpuMismatch = true
		}
	}
	series := func(name string, values []int64) schemas.Metric {
		return schemas.Metric{Name: name, Timestamps: ts, Values: values}
	}
	constant := func(name string, v int64) schemas.Metric {
		values := make([]int64, n)
		for i := range values {
			values[i] = v
		}
		return series(name, values)
	}
	out := []schemas.Metric{series(schemas.MetricCPUUsagePercent, cpu),
		series(schemas.MetricMemoryUsageBytes, mem), series(schemas.MetricMemoryWorkingSetBytes, ws)}
	if res != nil {
		out = append(out, constant(schemas.MetricCPUsDetectedNum, int64(res.CPUs)),
			constant(schemas.MetricMemoryTotalBytes, int64(res.MemoryMiB)<<20))
	}
	if gpuMismatch {
		return schemas.JobMetrics{Metrics: out}
	}
	out = append(out, constant(schemas.MetricGPUsDetectedNum, int64(gpus)))
	if res != nil && len(res.Gpus) > 0 {
		out = append(out, constant(schemas.MetricGPUMemoryTotalBytes, int64(res.Gpus[0].MemoryMiB)<<20))
	}
	for _, kind := range []struct {
		prefix string
		value  func(p MetricsPoint, g int) int64
	}{
		{schemas.MetricGPUMemoryUsagePrefix, func(p MetricsPoint, g int) int64 { return p.GpusMemoryUsage[g] }},
		{schemas.MetricGPUUtilPrefix, func(p MetricsPoint, g int) int64 { return p.GpusUtil[g] }},
	} {
		for g := range gpus {
			values := make([]int64, n)
			for i := range values {
				values[i] = kind.value(points[i], g)
			}
			out = append(out, series(kind.prefix+strconv.Itoa(g), values))
		}
	}
	return schemas.JobMetrics{Metrics: out}
}

// cpuPercent is the CPU use between two samples in percent of one CPU,
// rounded half to even as upstream's round().
func cpuPercent(p, prev MetricsPoint) int64 {
	window := p.TimestampMicro - prev.TimestampMicro
	if window == 0 {
		return 0
	}
	return int64(math.RoundToEven(float64(p.CPUUsageMicro-prev.CPUUsageMicro) / float64(window) * 100))
}
