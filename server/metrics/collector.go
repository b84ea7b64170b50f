package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the database reads of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	labelsByStatus = []string{"dstack_project_name", "status"}

	descRuns = prometheus.NewDesc("dstack_server_runs", "Runs by project and status (deleted runs excluded)", labelsByStatus, nil)
	descJobs = prometheus.NewDesc("dstack_server_jobs", "Jobs by project and status", labelsByStatus, nil)
	descInst = prometheus.NewDesc("dstack_server_instances", "Instances by project and status (deleted instances excluded)", labelsByStatus, nil)

	descBacklog  = prometheus.NewDesc("dstack_server_pipeline_backlog", "Rows waiting for a background pipeline", []string{"pipeline"}, nil)
	descLag      = prometheus.NewDesc("dstack_server_pipeline_lag_seconds", "How long the oldest row waiting for a pipeline has waited", []string{"pipeline"}, nil)
	descReplLag  = prometheus.NewDesc("dstack_server_litestream_lag_seconds", "How long the Litestream replica has been behind the SQLite database", []string{"replica"}, nil)
	descReplTXID = prometheus.NewDesc("dstack_server_litestream_txid", "Last transaction written locally and held by the replica", []string{"replica", "side"}, nil)
	descUp       = prometheus.NewDesc("dstack_server_scrape_errors", "Database reads that failed during this scrape", nil, nil)
)

// dbCollector reads the figures that live in the database at scrape time.
type dbCollector struct{ m *Metrics }

// Describe implements prometheus.Collector.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descJobs, descInst, descBacklog, descLag, descReplLag, descReplTXID, descUp} {
		ch <- d
	}
	describeUpstream(ch)
}

// Collect implements prometheus.Collector.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	errs := 0
	for _, q := range []struct {
		desc  *prometheus.Desc
		table string
		where string
	}{
		{descRuns, "runs", "t.deleted = FALSE"},
		{descJobs, "jobs", ""},
		{descInst, "instances", "t.deleted = FALSE"},
	} {
		if err := c.byStatus(ctx, ch, q.desc, q.table, q.where); err != nil {
			errs++
		}
	}
	if err := collectUpstream(ctx, c.m.src.DB, c.m.src.Now(), ch); err != nil {
		errs++
	}
	if c.m.src.Status != nil {
		if st, err := c.m.src.Status(ctx); err != nil {
			errs++
		} else {
			for _, p := range st.Pipelines {
				ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(p.Backlog), p.Name)
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, p.LagSeconds, p.Name)
			}
			if r := st.Replication; r != nil {
				ch <- prometheus.MustNewConstMetric(descReplLag, prometheus.GaugeValue, r.LagSeconds, r.URL)
				ch <- prometheus.MustNewConstMetric(descReplTXID, prometheus.GaugeValue, float64(r.LocalTXID), r.URL, "local")
				ch <- prometheus.MustNewConstMetric(descReplTXID, prometheus.GaugeValue, float64(r.ReplicaTXID), r.URL, "replica")
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, float64(errs))
}

// byStatus counts a table's rows per project name and status.
func (c *dbCollector) byStatus(ctx context.Context, ch chan<- prometheus.Metric, desc *prometheus.Desc, table, where string) error {
	var rows []struct {
		Project string `bun:"project"`
		Status  string `bun:"status"`
		N       int64  `bun:"n"`
	}
	q := c.m.src.DB.NewSelect().TableExpr(table + " AS t").Join("JOIN projects AS p ON p.id = t.project_id").
		ColumnExpr("p.name AS project").ColumnExpr("t.status AS status").ColumnExpr("COUNT(*) AS n").
		GroupExpr("p.name").GroupExpr("t.status")
	if where != "" {
		q = q.Where(where)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(r.N), r.Project, r.Status)
	}
	return nil
}
