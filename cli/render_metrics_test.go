package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestPrintMetrics(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	ts := []time.Time{now.Add(-5 * time.Second), now.Add(-15 * time.Second), now.Add(-25 * time.Second)}
	series := func(name string, values ...int64) schemas.Metric {
		return schemas.Metric{Name: name, Timestamps: ts, Values: values}
	}
	job := func(replica, num int, res *schemas.Resources) schemas.Job {
		j := schemas.Job{JobSpec: schemas.JobSpec{ReplicaNum: replica, JobNum: num}, JobSubmissions: []schemas.JobSubmission{{}}}
		if res != nil {
			j.JobSubmissions[0].JobProvisioningData = &schemas.JobProvisioningData{InstanceType: schemas.InstanceType{Resources: *res}}
		}
		return j
	}
	withGPU := &schemas.Resources{CPUs: 4, MemoryMiB: 8192, Gpus: []schemas.Gpu{{Name: "A10G", MemoryMiB: 24576}}}
	m := &schemas.JobMetrics{Metrics: []schemas.Metric{ // newest first
		series("cpu_usage_percent", 400, 200, 0),                  // of 4 CPUs: 100%, 50%, 0%
		series("memory_working_set_bytes", 4<<30, 2<<30, 512<<20), // of 8GB
		series("gpus_detected_num", 1, 1, 1),
		series("gpu_memory_usage_bytes_gpu0", 24<<30, 0, 0),
		series("gpu_util_percent_gpu0", 97, 50, 3),
	}}
	var b strings.Builder
	require.NoError(t, printMetrics(&b, []schemas.Job{job(0, 0, withGPU), job(1, 0, nil)},
		[]*schemas.JobMetrics{m, {Metrics: []schemas.Metric{}}}, 80, now))
	require.Equal(t, ""+
		"                        UTILIZATION  MEMORY\n"+
		"replica=0 job=0  cpu    ▁▄▇ 100%     ▁▂▄ 4GB/8GB\n"+
		"                 gpu=0  ▁▄▆ 97%      ▁▁▇ 24GB/24GB\n"+
		"\n"+
		"replica=1 job=0  cpu    no data      no data\n", b.String(), "three samples: too few cells for a time axis")

	// Twenty samples: a time axis under the charts.
	var long []time.Time
	var values []int64
	for i := range 20 {
		long = append(long, now.Add(-time.Duration(i*10)*time.Second))
		values = append(values, int64(i*5))
	}
	b.Reset()
	m = &schemas.JobMetrics{Metrics: []schemas.Metric{{Name: "cpu_usage_percent", Timestamps: long, Values: values}}}
	require.NoError(t, printMetrics(&b, []schemas.Job{job(0, 0, nil)}, []*schemas.JobMetrics{m}, 80, now))
	lines := strings.Split(b.String(), "\n")
	require.Len(t, lines, 5, b.String())
	require.Regexp(t, `^job=0  cpu  ▆▆▆▅▅▅▄▄▄▄▃▃▃▂▂▂▁▁▁▁ 0%  +no data$`, strings.TrimRight(lines[1], " "))
	require.Regexp(t, `^ +\d+ \w+ \d\d:\d\d ┄+ now +\d+ \w+ \d\d:\d\d ┄+ now$`, lines[3])

	b.Reset()
	require.NoError(t, printMetrics(&b, []schemas.Job{job(0, 0, nil)}, []*schemas.JobMetrics{{Metrics: []schemas.Metric{}}}, 80, now))
	require.Contains(t, b.String(), noMetricsYet)
}

func TestMetricsHelpers(t *testing.T) {
	require.Equal(t, "▁▄▇", sparkline([]float64{0, 50, 100}, 10))
	require.Equal(t, "▇▁", sparkline([]float64{100, 0, 0}, 2), "a cell shows the peak of its share; the last is the latest")
	require.Equal(t, "▁", sparkline([]float64{-5}, 3))
	require.Equal(t, "512MB", formatMemoryBytes(512<<20))
	require.Equal(t, "2GB", formatMemoryBytes(2.5*(1<<30)), "half to even")
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.Local)
	require.Equal(t, "2 Jan 14:00 ┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄ now", metricsAxis(35, now.Add(-time.Hour), now, now))
	require.Equal(t, "14:00 ┄┄┄┄ 14:30", metricsAxis(16, now.Add(-time.Hour), now.Add(-30*time.Minute), now))
	require.Equal(t, "", metricsAxis(5, now.Add(-time.Hour), now, now))
}
