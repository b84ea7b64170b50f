// Package apitest drives the server's HTTP API in-process for tests: it
// builds the router over a migrated database, sends requests, and creates
// users, projects and members through the API itself.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/api"
	"github.com/dstackgo/dstack/server/config"
	"github.com/dstackgo/dstack/server/proxy"
	"github.com/dstackgo/dstack/server/services"
)

// AdminToken is the bootstrap admin's token.
const AdminToken = "admin-token"

// Server is the API router over one database.
type Server struct {
	t       testing.TB
	DB      *db.DB
	Env     *services.Env
	Handler http.Handler
}

// Option adjusts the services' environment before bootstrap.
type Option func(*services.Env)

// WithPerms sets the server's default_permissions.
func WithPerms(p config.DefaultPermissions) Option {
	return func(e *services.Env) { e.Perms = p }
}

// WithQuota sets the per-user project quota.
func WithQuota(n int) Option { return func(e *services.Env) { e.ProjectQuota = n } }

// WithSealer sets the encryption keyring.
func WithSealer(s db.Sealer) Option { return func(e *services.Env) { e.Sealer = s } }

// WithClock pins the services' clock.
func WithClock(now func() time.Time) Option { return func(e *services.Env) { e.Now = now } }

// New bootstraps the admin and the "main" project and builds the router.
func New(t testing.TB, d *db.DB, opts ...Option) *Server {
	t.Helper()
	keyring, err := crypto.NewKeyring(nil)
	require.NoError(t, err)
	env := &services.Env{
		DB: d, Sealer: keyring, Perms: config.DefaultDefaultPermissions,
		ProjectQuota: 10, Log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(env)
	}
	_, err = services.Bootstrap(t.Context(), env, AdminToken, []string{"main"})
	require.NoError(t, err)
	return &Server{t: t, DB: d, Env: env, Handler: newRouter(env)}
}

// newRouter is the API with the service proxy; replicas are reached through
// an SSH pool of its own.
func newRouter(env *services.Env) *api.Router {
	log := slog.New(slog.DiscardHandler)
	p := proxy.New(services.ServiceRoutes{Env: env}, sshfleet.NewPool(sshfleet.PoolOptions{Logger: log}), log)
	return api.New(env, log).WithProxy(p, proxy.Models{Proxy: p})
}

// Request is one call. An empty Method is POST; an empty Token sends no
// Authorization header; a nil Body sends no body, a string or []byte is
// sent verbatim, anything else JSON-encoded.
type Request struct {
	Method string
	Path   string
	Token  string
	Body   any
	Header map[string]string
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends r.
func (s *Server) Do(r Request) *Response {
	s.t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = bytes.NewReader([]byte(b))
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(s.t, err)
		body = bytes.NewReader(data)
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequestWithContext(s.t.Context(), method, r.Path, body)
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// Post sends body (see Request) to path as token.
func (s *Server) Post(token, path string, body any) *Response {
	s.t.Helper()
	return s.Do(Request{Path: path, Token: token, Body: body})
}

// OK is Post that requires a 200 and decodes the answer into out (nil to skip).
func (s *Server) OK(token, path string, body, out any) *Response {
	s.t.Helper()
	r := s.Post(token, path, body)
	require.Equal(s.t, http.StatusOK, r.Status, "POST %s: %s", path, r.Body)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(r.Body, out), "POST %s: %s", path, r.Body)
	}
	return r
}

// JSON decodes the body as generic JSON.
func (r *Response) JSON(t testing.TB) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// Object decodes the body as a JSON object.
func (r *Response) Object(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.JSON(t).(map[string]any)
	require.True(t, ok, "want a JSON object, got %s", r.Body)
	return m
}

// List decodes the body as a JSON array.
func (r *Response) List(t testing.TB) []any {
	t.Helper()
	l, ok := r.JSON(t).([]any)
	require.True(t, ok, "want a JSON array, got %s", r.Body)
	return l
}

// Rebuild returns a router over the same database with opts applied to a
// copy of the environment, as a restarted server with a changed config.
func (s *Server) Rebuild(opts ...Option) *Server {
	env := *s.Env
	for _, o := range opts {
		o(&env)
	}
	return &Server{t: s.t, DB: s.DB, Env: &env, Handler: newRouter(&env)}
}
