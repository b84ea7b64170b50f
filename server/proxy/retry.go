package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
)

// retries is how many other replicas a request tries after the one chosen
// could not take it.
const retries = 2

// retrying is the proxy's transport. A replica that is being stopped (a
// rolling update, a scale-down) or has just died can still be chosen for a
// moment: the route was read, or cached, just before it left. A request
// that could not reach it then goes to another ready replica instead of
// failing, when nothing of it was sent: the connection could not be opened,
// or, for a request without a body and of a method that is safe to repeat,
// the connection broke before an answer began.
type retrying struct {
	p    *Proxy
	base http.RoundTripper
}

func (rt retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	var body *unsentBody
	if req.Body != nil {
		body = &unsentBody{rc: req.Body}
		req.Body = body
	}
	resp, err := rt.base.RoundTrip(req)
	tried := []string{}
	for try := 0; err != nil && try < retries && rt.retryable(req, body, err); try++ {
		t := req.Context().Value(targetKey{}).(*target)
		tried = append(tried, t.replica.JobID)
		next := rt.p.another(req.Context(), t, tried)
		if next == nil {
			break
		}
		rt.p.log.Debug("service replica unreachable, trying another", "job_id", t.replica.JobID,
			"next_job_id", next.replica.JobID, "err", err)
		req = req.Clone(context.WithValue(req.Context(), targetKey{}, next))
		req.URL.Host = hostOf(next)
		resp, err = rt.base.RoundTrip(req)
	}
	return resp, err
}

// retryable says whether a failed try may go to another replica.
func (retrying) retryable(req *http.Request, body *unsentBody, err error) bool {
	if req.Context().Err() != nil || (body != nil && body.read.Load()) {
		return false
	}
	var de *dialError
	if errors.As(err, &de) {
		return true
	}
	if body != nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// another is a ready replica of the target's service other than those
// tried, from the route as it is now; nil when there is none.
func (p *Proxy) another(ctx context.Context, t *target, tried []string) *target {
	p.cache.flushRoute(t.project, t.run)
	route, err := p.cache.Route(ctx, t.project, t.run)
	if err != nil {
		return nil
	}
	var left []int
	for i, r := range route.Replicas {
		if !slices.Contains(tried, r.JobID) {
			left = append(left, i)
		}
	}
	if len(left) == 0 {
		return nil
	}
	next := *t
	next.replica = &route.Replicas[left[0]]
	return &next
}

// hostOf is the outgoing URL's host for a target: the replica's job id, so
// that the transport keeps idle connections per replica.
func hostOf(t *target) string {
	return t.replica.JobID + ":" + strconv.Itoa(t.replica.Port)
}

// dialError is a connection to a replica that could not be opened: nothing
// of the request was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// unsentBody is a request's body on its way to a replica. It tells whether
// any of it was read, and keeps it open while nothing was: the transport
// closes the body of a try that fails, and an unread body can still go to
// another replica. The server closes it when the request ends.
type unsentBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *unsentBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *unsentBody) Close() error {
	if !b.read.Load() {
		return nil
	}
	return b.rc.Close()
}
