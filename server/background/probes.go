package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Probes executes the HTTP probes of running service jobs (sched.DecideProbe)
// and records each probe's success streak; the proxy routes only to replicas
// whose probes are ready. A probe reaches the replica's port through the
// pooled SSH connection to its host, as the proxy does: hosts open no port.
type Probes struct {
	Env  *services.Env
	Pool *sshfleet.Pool
	Log  *slog.Logger

	client *http.Client
}

// Name implements Pipeline.
func (p *Probes) Name() string { return services.PipelineProbes }

// Claim implements Pipeline.
func (p *Probes) Claim() db.Claim {
	// Probes are looked at every half second at most; each runs at its own
	// interval (DecideProbe).
	return db.Claim{Table: "job_probes", Where: "active = TRUE", Limit: 64, TTL: 2 * time.Minute,
		ProcessedBefore: time.Now().UTC().Add(-500 * time.Millisecond)}
}

// probeTarget is the replica a probe request goes to, carried in its context
// to the transport's dial.
type probeTarget struct{ replica *services.ServiceReplica }

type probeTargetKey struct{}

func (p *Probes) httpClient() *http.Client {
	if p.client == nil {
		p.client = &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second,
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					t, ok := ctx.Value(probeTargetKey{}).(*probeTarget)
					if !ok {
						return nil, errors.New("no replica chosen for this probe")
					}
					conn, err := p.Pool.Get(ctx, targetOf(t.replica.Host))
					if err != nil {
						return nil, err
					}
					return conn.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(t.replica.Port)))
				}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return p.client
}

// Process implements Pipeline: decide whether the probe runs, run it, and
// write its new streak under the lease.
func (p *Probes) Process(ctx context.Context, id, token string) error {
	pr, err := db.GetJobProbe(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	j, err := db.GetJob(ctx, p.Env.DB, pr.JobID)
	if err != nil {
		return err
	}
	var spec schemas.JobSpec
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil || pr.ProbeNum >= len(spec.Probes) {
		pr.Active = false
		_, err := db.UpdateLeased(ctx, p.Env.DB, pr, token, time.Now().UTC(), "active")
		return err
	}
	ps := spec.Probes[pr.ProbeNum]
	now := time.Now().UTC()
	state := sched.ProbeState{JobRunning: schemas.JobStatus(j.Status) == schemas.JobRunning,
		Interval: time.Duration(valueOf(ps.Interval)) * time.Second, ReadyAfter: valueOf(ps.ReadyAfter),
		UntilReady: valueOf(ps.UntilReady), SuccessStreak: pr.SuccessStreak, ProbedAt: pr.ProbedAt}
	switch sched.DecideProbe(state, now) {
	case sched.ProbeWait:
		_, err := db.ReleaseRow(ctx, p.Env.DB, "job_probes", id, token, now)
		return err
	case sched.ProbeStop:
		pr.Active = false
		_, err := db.UpdateLeased(ctx, p.Env.DB, pr, token, now, "active")
		return err
	}
	ok, why := p.execute(ctx, j, ps)
	if !ok {
		p.Log.Debug("probe failed", "run", j.RunName, "job", j.JobName, "probe", pr.ProbeNum, "err", why)
	}
	before := pr.SuccessStreak
	pr.SuccessStreak, pr.ProbedAt = sched.ProbeStreak(pr.SuccessStreak, ok), &now
	if _, err := db.UpdateLeased(ctx, p.Env.DB, pr, token, time.Now().UTC(), "success_streak", "probed_at"); err != nil {
		return err
	}
	if ready := valueOf(ps.ReadyAfter); before < ready && pr.SuccessStreak >= ready {
		p.Log.Info("replica probe ready", "run", j.RunName, "job", j.JobName, "probe", pr.ProbeNum)
		p.Env.WakeUp(services.PipelineRuns) // a rolling update may go on
	}
	return nil
}

// execute sends the probe's request to the job's replica; a 2xx answer
// within the timeout is a success.
func (p *Probes) execute(ctx context.Context, j *db.Job, ps schemas.ProbeConfig) (bool, string) {
	rep, err := (services.ServiceRoutes{Env: p.Env}).Replica(ctx, j)
	if err != nil {
		return false, err.Error()
	}
	if rep == nil {
		return false, "the job takes no requests"
	}
	timeout := time.Duration(valueOf(ps.Timeout)) * time.Second
	rctx, cancel := context.WithTimeout(context.WithValue(ctx, probeTargetKey{}, &probeTarget{replica: rep}), timeout)
	defer cancel()
	var body io.Reader
	if ps.Body != nil {
		body = strings.NewReader(*ps.Body)
	}
	url := "http://" + rep.JobID + ":" + strconv.Itoa(rep.Port) + deref(ps.URL)
	req, err := http.NewRequestWithContext(rctx, strings.ToUpper(deref(ps.Method)), url, body)
	if err != nil {
		return false, fmt.Sprintf("build the request: %v", err)
	}
	req.Host = "dstack"
	for _, h := range ps.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := p.httpClient().Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, "status " + resp.Status
	}
	return true, ""
}

// valueOf is *v, or zero when v is nil.
func valueOf[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}
