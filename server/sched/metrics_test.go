package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestJobMetricsSeries(t *testing.T) {
	at := func(sec int) int64 { return t0.Add(time.Duration(sec) * time.Second).UnixMicro() }
	pt := func(sec int, cpuMicro, mem int64, gpuMem, gpuUtil []int64) MetricsPoint {
		return MetricsPoint{TimestampMicro: at(sec), CPUUsageMicro: cpuMicro, MemoryUsage: mem, MemoryWorkingSet: mem / 2,
			GpusMemoryUsage: gpuMem, GpusUtil: gpuUtil}
	}
	ts := func(secs ...int) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s)*time.Second))
		}
		return out
	}
	res := &schemas.Resources{CPUs: 4, MemoryMiB: 16384, Gpus: []schemas.Gpu{{Name: "A10G", MemoryMiB: 24576}, {Name: "A10G", MemoryMiB: 24576}}}
	for _, tc := range []struct {
		name   string
		points []MetricsPoint // newest first
		res    *schemas.Resources
		want   []schemas.Metric
	}{
		{name: "no samples", want: []schemas.Metric{}},
		{name: "one sample: no CPU use yet", points: []MetricsPoint{pt(10, 5e6, 100, nil, nil)}, want: []schemas.Metric{}},
		{name: "CPU percent of one CPU between samples; no resources, no GPUs", points: []MetricsPoint{
			pt(30, 40_000_000, 300, []int64{}, []int64{}), // 25 s of CPU in 10 s: 2.5 CPUs
			pt(20, 15_000_000, 200, []int64{}, []int64{}), // 5.05 s in 10 s
			pt(10, 9_950_000, 100, []int64{}, []int64{}),
		}, want: []schemas.Metric{
			{Name: "cpu_usage_percent", Timestamps: ts(30, 20), Values: []int64{250, 50}},
			{Name: "memory_usage_bytes", Timestamps: ts(30, 20), Values: []int64{300, 200}},
			{Name: "memory_working_set_bytes", Timestamps: ts(30, 20), Values: []int64{150, 100}},
			{Name: "gpus_detected_num", Timestamps: ts(30, 20), Values: []int64{0, 0}},
		}},
		{name: "two GPUs with the instance's resources", res: res, points: []MetricsPoint{
			pt(20, 2e6, 8, []int64{1 << 30, 2 << 30}, []int64{90, 10}),
			pt(10, 1e6, 4, []int64{1 << 29, 0}, []int64{80, 0}),
		}, want: []schemas.Metric{
			{Name: "cpu_usage_percent", Timestamps: ts(20), Values: []int64{10}},
			{Name: "memory_usage_bytes", Timestamps: ts(20), Values: []int64{8}},
			{Name: "memory_working_set_bytes", Timestamps: ts(20), Values: []int64{4}},
			{Name: "cpus_detected_num", Timestamps: ts(20), Values: []int64{4}},
			{Name: "memory_total_bytes", Timestamps: ts(20), Values: []int64{16 << 30}},
			{Name: "gpus_detected_num", Timestamps: ts(20), Values: []int64{2}},
			{Name: "gpu_memory_total_bytes", Timestamps: ts(20), Values: []int64{24 << 30}},
			{Name: "gpu_memory_usage_bytes_gpu0", Timestamps: ts(20), Values: []int64{1 << 30}},
			{Name: "gpu_memory_usage_bytes_gpu1", Timestamps: ts(20), Values: []int64{2 << 30}},
			{Name: "gpu_util_percent_gpu0", Timestamps: ts(20), Values: []int64{90}},
			{Name: "gpu_util_percent_gpu1", Timestamps: ts(20), Values: []int64{10}},
		}},
		{name: "the GPU count changed: no GPU series", points: []MetricsPoint{
			pt(30, 0, 1, []int64{1}, []int64{1}),
			pt(20, 0, 1, []int64{1, 2}, []int64{1, 2}),
			pt(10, 0, 1, []int64{1}, []int64{1}),
		}, want: []schemas.Metric{
			{Name: "cpu_usage_percent", Timestamps: ts(30, 20), Values: []int64{0, 0}},
			{Name: "memory_usage_bytes", Timestamps: ts(30, 20), Values: []int64{1, 1}},
			{Name: "memory_working_set_bytes", Timestamps: ts(30, 20), Values: []int64{0, 0}},
		}},
		{name: "two samples at once: 0%", points: []MetricsPoint{pt(10, 9e6, 1, nil, nil), pt(10, 1e6, 1, nil, nil)}, want: []schemas.Metric{
			{Name: "cpu_usage_percent", Timestamps: ts(10), Values: []int64{0}},
			{Name: "memory_usage_bytes", Timestamps: ts(10), Values: []int64{1}},
			{Name: "memory_working_set_bytes", Timestamps: ts(10), Values: []int64{0}},
			{Name: "gpus_detected_num", Timestamps: ts(10), Values: []int64{0}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, JobMetricsSeries(tc.points, tc.res).Metrics)
		})
	}
}

func TestMetricsDueAndCutoffs(t *testing.T) {
	require.Equal(t, []string{"a", "c"}, MetricsDue([]string{"a", "b", "c"}, map[string]bool{"b": true}))
	require.Nil(t, MetricsDue([]string{"b"}, map[string]bool{"b": true}))
	running, finished := MetricsCutoffs(t0, time.Hour, 7*24*time.Hour)
	require.Equal(t, t0.Add(-time.Hour).UnixMicro(), running)
	require.Equal(t, t0.Add(-7*24*time.Hour).UnixMicro(), finished)
}
