package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/server/services"
)

// Defaults of upstream's service client settings.
const (
	// MaxBodySize is DSTACK_DEFAULT_SERVICE_CLIENT_MAX_BODY_SIZE.
	MaxBodySize = 64 << 20
	// ResponseTimeout is DSTACK_SERVICE_CLIENT_TIMEOUT: how long a replica
	// may take to start answering.
	ResponseTimeout = 60 * time.Second
)

// Routes finds services and checks tokens; services.ServiceRoutes in the
// server.
type Routes interface {
	Route(ctx context.Context, project, run string) (*services.ServiceRoute, error)
	Models(ctx context.Context, project string) ([]services.ModelRoute, error)
	ProjectMember(ctx context.Context, project, token string) (bool, error)
	// Requested counts a forwarded request for the autoscaler; noReplica
	// says the run has no ready replica for it.
	Requested(runID string, noReplica bool)
}

// ColdStartTimeout bounds how long a request to a service scaled to zero
// waits for its first replica to be ready.
const ColdStartTimeout = 5 * time.Minute

// Dialer opens a connection to a port on a host through its pooled SSH
// connection.
type Dialer interface {
	Get(ctx context.Context, t sshfleet.Target) (*sshfleet.Conn, error)
}

// Proxy serves /proxy/services/<project>/<run>/… by forwarding each request
// to one replica of the run, chosen round-robin among the ready ones.
type Proxy struct {
	routes Routes
	cache  *cache
	pool   Dialer
	log    *slog.Logger
	rp     *httputil.ReverseProxy

	mu     sync.Mutex
	next   map[string]*atomic.Uint64 // per run: the round-robin counter
	limits limiters
	// coldStart is ColdStartTimeout unless a test shortens it.
	coldStart time.Duration
}

// New returns a proxy over the services' routes and the SSH pool.
func New(routes Routes, pool Dialer, log *slog.Logger) *Proxy {
	p := &Proxy{routes: routes, cache: newCache(routes), pool: pool, log: log, next: map[string]*atomic.Uint64{}, coldStart: ColdStartTimeout}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dial,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: ResponseTimeout,
	}
	p.rp = &httputil.ReverseProxy{Rewrite: rewrite, Transport: retrying{p: p, base: tr}, ErrorHandler: p.upstreamError,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	return p
}

// target is the chosen replica, carried in the request's context to the
// transport's dial.
type target struct {
	project, run string
	replica      *services.ServiceReplica
	path         string
}

type targetKey struct{}

// ServeHTTP proxies one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, run, rest, ok := splitServicePath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if rest == "" { // as upstream: /proxy/services/p/run → /proxy/services/p/run/
		u := *r.URL
		u.Path += "/"
		u.RawPath = ""
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
		return
	}
	route, err := p.cache.Route(r.Context(), project, run)
	if errors.Is(err, services.ErrNoService) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Service %s/%s not found", project, run))
		return
	} else if err != nil {
		p.log.Error("look up service", "project", project, "run", run, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if route.Auth && !p.authorized(w, r, project) {
		return
	}
	if !p.limits.allow(route.RunID, route.RateLimits, rest, r, time.Now()) {
		writeError(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	p.routes.Requested(route.RunID, len(route.Replicas) == 0)
	if len(route.Replicas) == 0 && route.Wakes {
		route, err = p.awaitReplica(r.Context(), project, run)
		if errors.Is(err, services.ErrNoService) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("Service %s/%s not found", project, run))
			return
		} else if err != nil {
			p.log.Error("look up service", "project", project, "run", run, "err", err)
			writeError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	if len(route.Replicas) == 0 {
		writeError(w, http.StatusServiceUnavailable,
			fmt.Sprintf("Service %s/%s has no ready replica: %s", project, run, route.NotReady))
		return
	}
	path := rest
	if !route.StripPrefix {
		path = r.URL.Path
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
	p.forward(w, r, project, run, route, path)
}

// Woken is told which background pipelines were just woken, by this server
// or another replica of it. A job leaves its service's replicas on its way
// to the terminate pipeline, which is woken as it does, before the job is
// stopped; replicas join, a run is updated or stopped, with the runs
// pipeline woken. Either drops the cached routes, so that a replica about to
// be stopped takes no new request and a new one takes them at once.
func (p *Proxy) Woken(pipelines ...string) {
	for _, name := range pipelines {
		if name == services.PipelineTerminate || name == services.PipelineRuns {
			p.cache.flushRoutes()
			return
		}
	}
}

// awaitReplica waits, up to the cold start timeout or until the client
// leaves, for a replica of a service scaling up from zero. It returns the
// last route seen: without replicas when none became ready in time, nil
// with ErrNoService when the run went away.
func (p *Proxy) awaitReplica(ctx context.Context, project, run string) (*services.ServiceRoute, error) {
	ctx, cancel := context.WithTimeout(ctx, p.coldStart)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The deadline, or the client left: one last look.
			return p.routes.Route(context.WithoutCancel(ctx), project, run)
		case <-tick.C:
		}
		route, err := p.routes.Route(ctx, project, run)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if err == nil && len(route.Replicas) > 0 {
			return route, nil
		}
	}
}

// forward sends the request to the next replica of the route, at path.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, project, run string, route *services.ServiceRoute, path string) {
	t := &target{project: project, run: run, replica: p.pick(route), path: path}
	ctx := context.WithValue(r.Context(), targetKey{}, t)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// authorized enforces auth: true. As upstream, the token is the bearer
// token of a member of the service's project. A missing token is 401; a
// token of anyone else is upstream's 403.
func (p *Proxy) authorized(w http.ResponseWriter, r *http.Request, project string) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, "Not authenticated: send a project member's token as `Authorization: Bearer <token>`")
		return false
	}
	member, err := p.cache.ProjectMember(r.Context(), project, token)
	if err != nil {
		p.log.Error("check service token", "project", project, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return false
	}
	if !member {
		writeError(w, http.StatusForbidden, fmt.Sprintf("Unauthenticated or unauthorized to access project %s", project))
		return false
	}
	return true
}

// pick chooses the next replica of the run, round-robin.
func (p *Proxy) pick(route *services.ServiceRoute) *services.ServiceReplica {
	p.mu.Lock()
	n, ok := p.next[route.RunID]
	if !ok {
		n = new(atomic.Uint64)
		p.next[route.RunID] = n
	}
	p.mu.Unlock()
	i := n.Add(1) - 1
	return &route.Replicas[i%uint64(len(route.Replicas))]
}

// rewrite points the outgoing request at the chosen replica. The URL's host
// is the replica's job id, so that the transport keeps idle connections per
// replica; the Host header stays the client's, as upstream forwards it.
func rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(*target)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = hostOf(t)
	pr.Out.URL.Path = t.path
	pr.Out.URL.RawPath = ""
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
}

// dial reaches the replica's port on its host through the pooled SSH
// connection: nothing listens for the proxy on the host's network.
func (p *Proxy) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	t, ok := ctx.Value(targetKey{}).(*target)
	if !ok {
		return nil, errors.New("no service replica chosen for this connection")
	}
	conn, err := p.pool.Get(ctx, targetOf(t.replica.Host))
	if err != nil {
		return nil, &dialError{err}
	}
	c, err := conn.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(t.replica.Port)))
	if err != nil {
		return nil, &dialError{err}
	}
	return c, nil
}

// upstreamError answers a failed forward as upstream does: 504 on a
// timeout, 502 otherwise.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	t, _ := r.Context().Value(targetKey{}).(*target)
	job := ""
	if t != nil {
		job = t.replica.JobID
	}
	p.log.Debug("service request failed", "path", r.URL.Path, "job_id", job, "err", err)
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		writeError(w, http.StatusGatewayTimeout, "Timed out requesting upstream")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads an answer.
	default:
		writeError(w, http.StatusBadGateway, "Error requesting upstream")
	}
}

// splitServicePath splits /proxy/services/<project>/<run>/<rest> into its
// parts; rest keeps its leading slash and is "" for /proxy/services/p/run.
func splitServicePath(path string) (project, run, rest string, ok bool) {
	s, ok := strings.CutPrefix(path, ServicesPrefix)
	if !ok {
		return "", "", "", false
	}
	project, s, ok = strings.Cut(s, "/")
	if !ok || project == "" {
		return "", "", "", false
	}
	run, rest, _ = strings.Cut(s, "/")
	if run == "" {
		return "", "", "", false
	}
	if rest != "" || strings.HasSuffix(s, "/") {
		rest = "/" + rest
	}
	return project, run, rest, true
}

// ServicesPrefix is where services are published.
const ServicesPrefix = "/proxy/services/"

func targetOf(rh *services.RemoteHost) sshfleet.Target {
	t := sshfleet.Target{Host: rh.Hostname, Port: rh.Port, User: rh.User, PrivateKey: []byte(rh.PrivateKey)}
	if j := rh.ProxyJump; j != nil {
		t.ProxyJump = &sshfleet.Target{Host: j.Hostname, Port: j.Port, User: j.User, PrivateKey: []byte(j.PrivateKey)}
	}
	return t
}

// writeError writes upstream's error shape, {"detail": "..."}.
func writeError(w http.ResponseWriter, status int, detail string) {
	b, _ := json.Marshal(map[string]string{"detail": detail})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
