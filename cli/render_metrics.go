package cli

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// sparks are the sparkline levels, lowest first (no full block: it would
// fuse consecutive rows).
var sparks = []rune("▁▂▃▄▅▆▇")

const (
	noMetricsData  = "no data"
	metricsLiveFor = 3 * metricsWatchEvery // a newer sample reads "now"
	noMetricsYet   = "No metrics yet: the server samples a running job every 10 seconds and needs two samples."
)

// printMetrics writes the metrics table: per job a cpu row and a row per
// GPU, each with a sparkline of utilization and of memory (oldest sample
// left, the latest value beside it), and a time axis under them.
func printMetrics(w io.Writer, jobs []schemas.Job, series []*schemas.JobMetrics, width int, now time.Time) error {
	labels := metricsJobLabels(jobs)
	labelWidth := 0
	for _, l := range labels {
		labelWidth = max(labelWidth, len(l))
	}
	spark := max(10, min(80, (width-30-labelWidth)/2))
	g := newGrid("", "", "UTILIZATION", "MEMORY")
	var first, last time.Time
	cells := 0
	for i, j := range jobs {
		if i > 0 {
			g.add()
		}
		m, res := series[i], jobResources(j)
		cpu := metricValues(m, schemas.MetricCPUUsagePercent)
		if res != nil && res.CPUs > 0 {
			for k := range cpu {
				cpu[k] /= float64(res.CPUs)
			}
		}
		var total float64
		if res != nil {
			total = float64(res.MemoryMiB) * (1 << 20)
		}
		g.add(labels[i], "cpu", percentCell(cpu, spark), capacityCell(metricValues(m, schemas.MetricMemoryWorkingSetBytes), total, spark))
		for k := range metricsGPUs(m, res) {
			var gpuTotal float64
			if res != nil && k < len(res.Gpus) {
				gpuTotal = float64(res.Gpus[k].MemoryMiB) * (1 << 20)
			}
			g.add("", "gpu="+strconv.Itoa(k), percentCell(metricValues(m, schemas.MetricGPUUtilPrefix+strconv.Itoa(k)), spark),
				capacityCell(metricValues(m, schemas.MetricGPUMemoryUsagePrefix+strconv.Itoa(k)), gpuTotal, spark))
		}
		for _, s := range m.Metrics {
			for _, t := range s.Timestamps {
				if first.IsZero() || t.Before(first) {
					first = t
				}
				if t.After(last) {
					last = t
				}
			}
			cells = max(cells, min(spark, len(s.Timestamps)))
		}
	}
	if axis := metricsAxis(cells, first, last, now); !first.IsZero() && axis != "" {
		g.add()
		g.add("", "", axis, axis)
	}
	if err := g.render(w, 0); err != nil {
		return err
	}
	if first.IsZero() {
		_, err := fmt.Fprintln(w, "\n"+noMetricsYet)
		return err
	}
	return nil
}

// metricsJobLabels name each job by what tells them apart: the replica
// when there are several, and the job number.
func metricsJobLabels(jobs []schemas.Job) []string {
	replicas := map[int]bool{}
	for _, j := range jobs {
		replicas[j.JobSpec.ReplicaNum] = true
	}
	out := make([]string, len(jobs))
	for i, j := range jobs {
		if len(replicas) > 1 {
			out[i] = fmt.Sprintf("replica=%d ", j.JobSpec.ReplicaNum)
		}
		out[i] += fmt.Sprintf("job=%d", j.JobSpec.JobNum)
	}
	return out
}

// jobResources are the resources of a job's latest submission: its
// offer's, else its instance's.
func jobResources(j schemas.Job) *schemas.Resources {
	if len(j.JobSubmissions) == 0 {
		return nil
	}
	s := j.JobSubmissions[len(j.JobSubmissions)-1]
	if s.JobRuntimeData != nil && s.JobRuntimeData.Offer != nil {
		return &s.JobRuntimeData.Offer.Instance.Resources
	}
	if s.JobProvisioningData != nil {
		return &s.JobProvisioningData.InstanceType.Resources
	}
	return nil
}

// metricValues returns a series' values oldest first (the server sends
// them newest first).
func metricValues(m *schemas.JobMetrics, name string) []float64 {
	for _, s := range m.Metrics {
		if s.Name == name {
			out := make([]float64, len(s.Values))
			for i, v := range s.Values {
				out[len(out)-1-i] = float64(v)
			}
			return out
		}
	}
	return nil
}

// metricsGPUs is the number of GPU rows: the instance's GPUs, else the
// GPUs the runner detected.
func metricsGPUs(m *schemas.JobMetrics, res *schemas.Resources) int {
	if res != nil && len(res.Gpus) > 0 {
		return len(res.Gpus)
	}
	if v := metricValues(m, schemas.MetricGPUsDetectedNum); len(v) > 0 {
		return int(v[len(v)-1])
	}
	return 0
}

func percentCell(values []float64, width int) string {
	if len(values) == 0 {
		return noMetricsData
	}
	return sparkline(values, width) + " " + strconv.FormatFloat(values[len(values)-1], 'f', 0, 64) + "%"
}

// capacityCell charts memory against its total when known, labelled
// "used/total".
func capacityCell(values []float64, total float64, width int) string {
	if len(values) == 0 {
		return noMetricsData
	}
	label := formatMemoryBytes(values[len(values)-1])
	percents := values
	if total > 0 {
		percents = make([]float64, len(values))
		for i, v := range values {
			percents[i] = v / total * 100
		}
		label += "/" + formatMemoryBytes(total)
	}
	return sparkline(percents, width) + " " + label
}

// formatMemoryBytes renders bytes as whole MB, or GB from 1024 MB on.
func formatMemoryBytes(b float64) string {
	mb := b / (1 << 20)
	if mb >= 1024 {
		return strconv.FormatFloat(math.RoundToEven(mb/1024), 'f', 0, 64) + "GB"
	}
	return strconv.FormatFloat(math.RoundToEven(mb), 'f', 0, 64) + "MB"
}

// sparkline draws values (0..100) in at most width cells: each cell is the
// peak of its share of the history, and the last cell is the latest value.
func sparkline(values []float64, width int) string {
	var b strings.Builder
	for _, peak := range sparkPeaks(values, width) {
		i := int(max(0, min(100, peak)) / 100 * float64(len(sparks)-1))
		b.WriteRune(sparks[i])
	}
	return b.String()
}

func sparkPeaks(values []float64, width int) []float64 {
	if width < 1 {
		return nil
	}
	if width == 1 || len(values) <= width {
		return slices.Clone(values[max(0, len(values)-width):])
	}
	history := values[:len(values)-1]
	out := make([]float64, 0, width)
	for i := range width - 1 {
		lo := i * len(history) / (width - 1)
		hi := max(lo+1, (i+1)*len(history)/(width-1))
		out = append(out, slices.Max(history[lo:hi]))
	}
	return append(out, values[len(values)-1])
}

// metricsAxis is the time line under the charts, width columns wide:
// the oldest sample's time on the left, the newest's (or "now") on the
// right.
func metricsAxis(width int, first, last, now time.Time) string {
	label := func(t time.Time, clock bool) string {
		if now.Sub(t) < metricsLiveFor {
			return "now"
		}
		if clock {
			return t.Local().Format("15:04")
		}
		return t.Local().Format("2 Jan 15:04")
	}
	left, right := label(first, false), label(last, false)
	if len(left)+len(right)+3 > width {
		left, right = label(first, true), label(last, true)
	}
	if len(left)+len(right)+2 > width {
		return ""
	}
	return left + " " + strings.Repeat("┄", width-len(left)-len(right)-2) + " " + right
}
