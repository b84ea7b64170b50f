package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/services"
)

// twoReplicas routes every service to the replicas a and b.
type twoReplicas struct{ countingRoutes }

func (r *twoReplicas) Route(context.Context, string, string) (*services.ServiceRoute, error) {
	r.routeCalls++
	return &services.ServiceRoute{RunID: "run", Replicas: []services.ServiceReplica{
		{JobID: "a", Port: 8000}, {JobID: "b", Port: 8000}}}, nil
}

// replicaTransport answers as the replicas would: fail says how each
// replica fails (nil: it answers with the body it read).
type replicaTransport struct {
	fail  map[string]func(req *http.Request) error
	asked []string
}

func (rt *replicaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.asked = append(rt.asked, req.URL.Host)
	if f := rt.fail[req.URL.Host]; f != nil {
		err := f(req)
		if req.Body != nil {
			req.Body.Close() // as http.Transport does with a failed request
		}
		return nil, err
	}
	body := ""
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = string(b)
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(req.URL.Host + " " + body))}, nil
}

var (
	refused = func(*http.Request) error { return &dialError{errors.New("connect failed (Connection refused)")} }
	broken  = func(*http.Request) error { return io.ErrUnexpectedEOF }
	// readThenBroken sends some of the body before the connection breaks.
	readThenBroken = func(req *http.Request) error {
		_, _ = req.Body.Read(make([]byte, 1))
		return io.ErrUnexpectedEOF
	}
)

// try sends one request to replica a through the retrying transport.
func try(t *testing.T, fail map[string]func(*http.Request) error, method string, body io.Reader) (*replicaTransport, string, error) {
	t.Helper()
	base := &replicaTransport{fail: fail}
	p := New(&twoReplicas{}, nil, slog.New(slog.DiscardHandler))
	rt := retrying{p: p, base: base}
	tg := &target{project: "p", run: "svc", replica: &services.ServiceReplica{JobID: "a", Port: 8000}}
	ctx := context.WithValue(context.Background(), targetKey{}, tg)
	req, err := http.NewRequestWithContext(ctx, method, "http://a:8000/x", body)
	require.NoError(t, err)
	if body == nil {
		req.Body = nil
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return base, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return base, string(b), nil
}

func TestRetryingTakesAnotherReplica(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   map[string]func(*http.Request) error
		method string
		body   string
		asked  []string
		answer string // "" for the error
	}{
		{name: "refused GET", fail: map[string]func(*http.Request) error{"a:8000": refused}, method: "GET",
			asked: []string{"a:8000", "b:8000"}, answer: "b:8000 "},
		{name: "refused POST keeps its body for the next replica", fail: map[string]func(*http.Request) error{"a:8000": refused},
			method: "POST", body: `{"q": 1}`, asked: []string{"a:8000", "b:8000"}, answer: `b:8000 {"q": 1}`},
		{name: "GET broken before an answer", fail: map[string]func(*http.Request) error{"a:8000": broken}, method: "GET",
			asked: []string{"a:8000", "b:8000"}, answer: "b:8000 "},
		{name: "POST broken before an answer is not repeated", fail: map[string]func(*http.Request) error{"a:8000": broken},
			method: "POST", asked: []string{"a:8000"}},
		{name: "a body partly sent is not sent again", fail: map[string]func(*http.Request) error{"a:8000": readThenBroken},
			method: "PUT", body: "data", asked: []string{"a:8000"}},
		{name: "every replica refuses", fail: map[string]func(*http.Request) error{"a:8000": refused, "b:8000": refused},
			method: "GET", asked: []string{"a:8000", "b:8000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			base, answer, err := try(t, tc.fail, tc.method, body)
			require.Equal(t, tc.asked, base.asked)
			if tc.answer == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.answer, answer)
		})
	}
}
