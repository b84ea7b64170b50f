// Package metrics serves Prometheus metrics at /metrics
// (DSTACK_ENABLE_PROMETHEUS_METRICS): upstream's run, job and instance
// metrics under upstream's names, plus what operating this server needs:
// runs, jobs and instances by status and project, pipeline backlog, lag and
// claim rate, HTTP latency by route, SSH and agent errors, and the
// Litestream replica's lag.
//
// Database figures are read when scraped; counters and histograms are fed
// by small hooks (the router's middleware, the supervisor's claim hook and
// the SSH pool's observer).
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Sources are what the scrape-time figures are read from.
type Sources struct {
	DB *db.DB
	// Status gives the pipelines' backlog and lag and the replica's state.
	Status func(ctx context.Context) (*schemas.ServerStatus, error)
	// AuthToken, when set, is required as "Authorization: Bearer <token>"
	// (DSTACK_PROMETHEUS_AUTH_TOKEN).
	AuthToken string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Metrics is the server's registry with its hooks. As upstream's, it has
// no per-process collectors: scraped through a load balancer, several
// replicas' process figures would interleave in one series.
type Metrics struct {
	src         Sources
	reg         *prometheus.Registry
	httpLatency *prometheus.HistogramVec
	claimed     *prometheus.CounterVec
	sshErrors   *prometheus.CounterVec
	agentErrors *prometheus.CounterVec
}

// New builds the registry.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	m := &Metrics{src: src, reg: prometheus.NewRegistry(),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dstack_server_http_request_duration_seconds",
			Help:    "HTTP API request latency by route",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		claimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dstack_server_pipeline_claimed_total",
			Help: "Rows claimed by a background pipeline",
		}, []string{"pipeline"}),
		sshErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dstack_server_ssh_errors_total",
			Help: "Failed SSH connections to hosts, by kind",
		}, []string{"kind"}),
		agentErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dstack_server_agent_errors_total",
			Help: "Failed requests to the hosts' shim and runner, by agent and reason",
		}, []string{"agent", "reason"}),
	}
	m.reg.MustRegister(m.httpLatency, m.claimed, m.sshErrors, m.agentErrors, &dbCollector{m: m})
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if m.src.AuthToken == "" {
		return h
	}
	want := []byte("Bearer " + m.src.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"detail":"Not authenticated"}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Middleware times each API request under its route pattern (unmatched
// paths share one label, so scanners do not grow the series).
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.httpLatency.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).
			Observe(time.Since(start).Seconds())
	}
}

// Claimed counts rows a pipeline claimed (the supervisor's hook).
func (m *Metrics) Claimed(pipeline string, n int) {
	m.claimed.WithLabelValues(pipeline).Add(float64(n))
}

// SSHError implements sshfleet.Observer.
func (m *Metrics) SSHError(kind sshfleet.Kind) {
	if kind == "" {
		kind = "other"
	}
	m.sshErrors.WithLabelValues(string(kind)).Inc()
}

// AgentError implements sshfleet.Observer.
func (m *Metrics) AgentError(agent, reason string) {
	m.agentErrors.WithLabelValues(agent, reason).Inc()
}
