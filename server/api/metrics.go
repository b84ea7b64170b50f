package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) metricsRoutes(g *gin.RouterGroup) {
	metrics := services.Metrics{Env: r.env}
	g.GET("/project/:project_name/metrics/job/:run_name", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		q, err := jobMetricsQuery(c)
		if err != nil {
			return nil, err
		}
		return metrics.Job(c.Request.Context(), access(c).Project, q)
	}))
}

// jobMetricsQuery reads the query parameters of metrics/job/{run_name}:
// run_id, replica_num (0), job_num (0), limit (1), after, before.
func jobMetricsQuery(c *gin.Context) (services.JobMetricsQuery, error) {
	q := services.JobMetricsQuery{RunName: c.Param("run_name"), Limit: 1}
	if v := c.Query("run_id"); v != "" {
		if _, err := uuid.Parse(v); err != nil {
			return q, services.InvalidField("run_id", "run_id %q is not a UUID", v)
		}
		q.RunID = v
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"replica_num", &q.ReplicaNum}, {"job_num", &q.JobNum}, {"limit", &q.Limit}} {
		v, ok := c.GetQuery(p.name)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, services.InvalidField(p.name, "%s %q is not a whole number of 0 or more", p.name, v)
		}
		*p.dst = n
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"after", &q.After}, {"before", &q.Before}} {
		v, ok := c.GetQuery(p.name)
		if !ok {
			continue
		}
		t, err := parseQueryTime(v)
		if err != nil {
			return q, services.InvalidField(p.name, "%s %q is not a date and time: use ISO 8601, e.g. 2025-01-31T12:00:00+00:00", p.name, v)
		}
		*p.dst = &t
	}
	return q, nil
}

// parseQueryTime reads an ISO 8601 date and time as Python's isoformat()
// writes it; one without a zone is UTC.
func parseQueryTime(v string) (time.Time, error) {
	v = strings.Replace(strings.TrimSpace(v), " ", "T", 1)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", v, time.UTC)
}
