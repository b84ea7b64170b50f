package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dstackgo/dstack/db"
)

// Upstream's metric names and labels (dstack's
// _internal/server/services/prometheus/custom_metrics.py), so dashboards
// built for upstream work unchanged.
var (
	instLabels = []string{"dstack_project_name", "dstack_fleet_name", "dstack_fleet_id", "dstack_instance_name",
		"dstack_instance_id", "dstack_instance_type", "dstack_backend", "dstack_gpu"}
	runLabels = []string{"dstack_project_name", "dstack_user_name"}
	jobLabels = []string{"dstack_project_name", "dstack_user_name", "dstack_run_name", "dstack_run_id", "dstack_job_name",
		"dstack_job_id", "dstack_job_num", "dstack_replica_num", "dstack_run_type", "dstack_backend", "dstack_gpu"}

	upInstDuration = prometheus.NewDesc("dstack_instance_duration_seconds_total", "Total seconds the instance is running", instLabels, nil)
	upInstPrice    = prometheus.NewDesc("dstack_instance_price_dollars_per_hour", "Instance price, USD/hour", instLabels, nil)
	upInstGPUs     = prometheus.NewDesc("dstack_instance_gpu_count", "Instance GPU count", instLabels, nil)
	upRunTotal     = prometheus.NewDesc("dstack_run_count_total", "Total runs count", runLabels, nil)
	upRunTerm      = prometheus.NewDesc("dstack_run_count_terminated_total", "Terminated runs count", runLabels, nil)
	upRunFailed    = prometheus.NewDesc("dstack_run_count_failed_total", "Failed runs count", runLabels, nil)
	upRunDone      = prometheus.NewDesc("dstack_run_count_done_total", "Done runs count", runLabels, nil)
	upJobDuration  = prometheus.NewDesc("dstack_job_duration_seconds_total", "Total seconds the job is running", jobLabels, nil)
	upJobPrice     = prometheus.NewDesc("dstack_job_price_dollars_per_hour", "Job instance price, USD/hour", jobLabels, nil)
	upJobGPUs      = prometheus.NewDesc("dstack_job_gpu_count", "Job GPU count", jobLabels, nil)
	upJobCPUs      = prometheus.NewDesc("dstack_job_cpu_count", "Job CPU count", jobLabels, nil)
	upJobMemory    = prometheus.NewDesc("dstack_job_memory_total_bytes", "Total memory allocated for the job, bytes", jobLabels, nil)
)

func describeUpstream(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upInstDuration, upInstPrice, upInstGPUs, upRunTotal, upRunTerm, upRunFailed,
		upRunDone, upJobDuration, upJobPrice, upJobGPUs, upJobCPUs, upJobMemory} {
		ch <- d
	}
}

// collectUpstream reads upstream's instance, run and job figures.
func collectUpstream(ctx context.Context, d *db.DB, now time.Time, ch chan<- prometheus.Metric) error {
	return errors.Join(collectInstances(ctx, d, now, ch), collectRunCounts(ctx, d, ch), collectJobs(ctx, d, now, ch))
}

// resources is the part of an offer or instance type the metrics read.
type resources struct {
	CPUs      float64 `json:"cpus"`
	MemoryMiB float64 `json:"memory_mib"`
	GPUs      []struct {
		Name string `json:"name"`
	} `json:"gpus"`
}

type instanceType struct {
	Name      string    `json:"name"`
	Resources resources `json:"resources"`
}

func (r resources) gpu() string {
	if len(r.GPUs) == 0 {
		return ""
	}
	return r.GPUs[0].Name
}

func collectInstances(ctx context.Context, d *db.DB, now time.Time, ch chan<- prometheus.Metric) error {
	var rows []struct {
		ID        string    `bun:"id"`
		Name      string    `bun:"name"`
		CreatedAt time.Time `bun:"created_at"`
		Price     *float64  `bun:"price"`
		Backend   *string   `bun:"backend"`
		Offer     *string   `bun:"offer"`
		Project   string    `bun:"project"`
		FleetID   *string   `bun:"fleet_id"`
		FleetName *string   `bun:"fleet_name"`
	}
	err := d.NewSelect().TableExpr("instances AS i").Join("JOIN projects AS p ON p.id = i.project_id").
		Join("LEFT JOIN fleets AS f ON f.id = i.fleet_id").
		ColumnExpr("i.id, i.name, i.created_at, i.price, i.backend, i.offer, i.fleet_id").
		ColumnExpr("p.name AS project").ColumnExpr("f.name AS fleet_name").
		Where("i.deleted = FALSE").Where("i.status IN ('provisioning', 'idle', 'busy', 'terminating')").
		OrderExpr("p.name, i.name").Scan(ctx, &rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		var offer struct {
			Instance instanceType `json:"instance"`
		}
		if r.Offer != nil && json.Unmarshal([]byte(*r.Offer), &offer) != nil {
			continue
		}
		labels := []string{r.Project, deref(r.FleetName), deref(r.FleetID), r.Name, r.ID, offer.Instance.Name,
			deref(r.Backend), offer.Instance.Resources.gpu()}
		price := 0.0
		if r.Price != nil {
			price = *r.Price
		}
		ch <- prometheus.MustNewConstMetric(upInstDuration, prometheus.CounterValue, now.Sub(r.CreatedAt).Seconds(), labels...)
		ch <- prometheus.MustNewConstMetric(upInstPrice, prometheus.GaugeValue, price, labels...)
		ch <- prometheus.MustNewConstMetric(upInstGPUs, prometheus.GaugeValue, float64(len(offer.Instance.Resources.GPUs)), labels...)
	}
	return nil
}

func collectRunCounts(ctx context.Context, d *db.DB, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Project string `bun:"project"`
		User    string `bun:"user_name"`
		Status  string `bun:"status"`
		N       int64  `bun:"n"`
	}
	err := d.NewSelect().TableExpr("runs AS r").Join("JOIN projects AS p ON p.id = r.project_id").
		Join("JOIN users AS u ON u.id = r.user_id").
		ColumnExpr("p.name AS project, u.name AS user_name, r.status AS status, COUNT(*) AS n").
		GroupExpr("p.name, u.name, r.status").OrderExpr("p.name, u.name").Scan(ctx, &rows)
	if err != nil {
		return err
	}
	type key struct{ project, user string }
	counts := map[key]map[string]int64{}
	var order []key
	for _, r := range rows {
		k := key{r.Project, r.User}
		if counts[k] == nil {
			counts[k] = map[string]int64{}
			order = append(order, k)
		}
		counts[k][r.Status] += r.N
		counts[k][""] += r.N
	}
	for _, k := range order {
		c := counts[k]
		ch <- prometheus.MustNewConstMetric(upRunTotal, prometheus.CounterValue, float64(c[""]), k.project, k.user)
		ch <- prometheus.MustNewConstMetric(upRunTerm, prometheus.CounterValue, float64(c["terminated"]), k.project, k.user)
		ch <- prometheus.MustNewConstMetric(upRunFailed, prometheus.CounterValue, float64(c["failed"]), k.project, k.user)
		ch <- prometheus.MustNewConstMetric(upRunDone, prometheus.CounterValue, float64(c["done"]), k.project, k.user)
	}
	return nil
}

func collectJobs(ctx context.Context, d *db.DB, now time.Time, ch chan<- prometheus.Metric) error {
	var rows []struct {
		ID          string    `bun:"id"`
		RunID       string    `bun:"run_id"`
		RunName     string    `bun:"run_name"`
		JobName     string    `bun:"job_name"`
		JobNum      int       `bun:"job_num"`
		ReplicaNum  int       `bun:"replica_num"`
		SubmittedAt time.Time `bun:"submitted_at"`
		JPD         *string   `bun:"job_provisioning_data"`
		RunSpec     string    `bun:"run_spec"`
		Project     string    `bun:"project"`
		User        string    `bun:"user_name"`
	}
	err := d.NewSelect().TableExpr("jobs AS j").Join("JOIN runs AS r ON r.id = j.run_id").
		Join("JOIN projects AS p ON p.id = j.project_id").Join("JOIN users AS u ON u.id = r.user_id").
		ColumnExpr("j.id, j.run_id, j.run_name, j.job_name, j.job_num, j.replica_num, j.submitted_at, j.job_provisioning_data").
		ColumnExpr("r.run_spec, p.name AS project, u.name AS user_name").
		Where("j.status IN ('provisioning', 'pulling', 'running', 'terminating')").
		OrderExpr("p.name, j.job_name").Scan(ctx, &rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.JPD == nil {
			continue
		}
		var jpd struct {
			Backend      string       `json:"backend"`
			Price        float64      `json:"price"`
			InstanceType instanceType `json:"instance_type"`
		}
		if json.Unmarshal([]byte(*r.JPD), &jpd) != nil {
			continue
		}
		var spec struct {
			Configuration struct {
				Type string `json:"type"`
			} `json:"configuration"`
		}
		if json.Unmarshal([]byte(r.RunSpec), &spec) != nil {
			continue
		}
		res := jpd.InstanceType.Resources
		labels := []string{r.Project, r.User, r.RunName, r.RunID, r.JobName, r.ID, strconv.Itoa(r.JobNum),
			strconv.Itoa(r.ReplicaNum), spec.Configuration.Type, jpd.Backend, res.gpu()}
		ch <- prometheus.MustNewConstMetric(upJobDuration, prometheus.CounterValue, now.Sub(r.SubmittedAt).Seconds(), labels...)
		ch <- prometheus.MustNewConstMetric(upJobPrice, prometheus.GaugeValue, jpd.Price, labels...)
		ch <- prometheus.MustNewConstMetric(upJobGPUs, prometheus.GaugeValue, float64(len(res.GPUs)), labels...)
		ch <- prometheus.MustNewConstMetric(upJobCPUs, prometheus.GaugeValue, res.CPUs, labels...)
		ch <- prometheus.MustNewConstMetric(upJobMemory, prometheus.GaugeValue, res.MemoryMiB*1024*1024, labels...)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
