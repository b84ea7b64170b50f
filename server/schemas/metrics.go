package schemas

import "time"

// Metric is one series of metrics/job: values with their timestamps,
// newest first.
type Metric struct {
	Name       string      `json:"name"`
	Timestamps []time.Time `json:"timestamps"`
	Values     []int64     `json:"values"`
}

// JobMetrics is the answer of metrics/job/{run_name}.
type JobMetrics struct {
	Metrics []Metric `json:"metrics"`
}

// Metric names of JobMetrics (upstream's); GPU series are suffixed with
// the GPU's index ("gpu_util_percent_gpu0").
const (
	MetricCPUUsagePercent       = "cpu_usage_percent"
	MetricMemoryUsageBytes      = "memory_usage_bytes"
	MetricMemoryWorkingSetBytes = "memory_working_set_bytes"
	MetricCPUsDetectedNum       = "cpus_detected_num"
	MetricMemoryTotalBytes      = "memory_total_bytes"
	MetricGPUsDetectedNum       = "gpus_detected_num"
	MetricGPUMemoryTotalBytes   = "gpu_memory_total_bytes"
	MetricGPUMemoryUsagePrefix  = "gpu_memory_usage_bytes_gpu"
	MetricGPUUtilPrefix         = "gpu_util_percent_gpu"
)
