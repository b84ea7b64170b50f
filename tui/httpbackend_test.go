package tui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// apiStub answers each route with a canned status and body, and records
// the request bodies.
type apiStub struct {
	answers map[string]any // path → body (a *stubAnswer for a non-200)
	got     map[string]string
}

type stubAnswer struct {
	status int
	body   string
}

func (s *apiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.got[r.URL.Path] = string(b)
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"detail":{"msg":"Invalid token","code":null}}`)
		return
	}
	a, ok := s.answers[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Not Found"}`)
		return
	}
	if sa, ok := a.(*stubAnswer); ok {
		w.WriteHeader(sa.status)
		_, _ = io.WriteString(w, sa.body)
		return
	}
	_ = json.NewEncoder(w).Encode(a)
}

func TestHTTPBackendRoutes(t *testing.T) {
	stub := &apiStub{got: map[string]string{}, answers: map[string]any{
		"/api/runs/list":                testRuns(),
		"/api/project/main/runs/get":    testRuns()[1],
		"/api/project/main/runs/stop":   nil,
		"/api/project/main/fleets/list": testFleets(),
		"/api/project/main/logs/poll":   schemas.JobSubmissionLogs{Logs: []schemas.LogEvent{{Message: "aGkK"}}},
		"/api/admin/encryption/status":  testEncryption(),
		"/api/users/get_my_user":        schemas.UserWithCreds{User: schemas.User{Username: "alice", GlobalRole: "user"}},
		"/api/server/get_info":          schemas.ServerInfo{ServerVersion: ptr("0.21.2")},
		"/api/projects/list":            []schemas.Project{{ProjectName: "main"}, {ProjectName: "secret"}},
		"/api/projects/main/get": schemas.Project{ProjectName: "main", Backends: []schemas.BackendInfo{{Name: "aws",
			Config: []byte(`{"type":"aws","regions":["us-east-1"],"vpc_name":null}`)}}},
		"/api/projects/secret/get": &stubAnswer{status: 403, body: `{"detail":{"msg":"Access denied","code":null}}`},
	}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	b := NewHTTPBackend(client.New(srv.URL, "tok"))
	ctx := context.Background()

	runs, err := b.ListRuns(ctx, "main", true)
	require.NoError(t, err)
	require.Len(t, runs, 4)
	require.Equal(t, "task", runs[1].RunSpec.Configuration.Type())
	require.JSONEq(t, `{"project_name":"main","repo_id":null,"username":null,"only_active":true,"include_jobs":true,
		"job_submissions_limit":1,"prev_submitted_at":null,"prev_run_id":null,"limit":100,"ascending":false}`, stub.got["/api/runs/list"])

	r, err := b.GetRun(ctx, "main", "train-llama")
	require.NoError(t, err)
	require.Equal(t, "train-llama", runName(r))
	require.JSONEq(t, `{"run_name":"train-llama","id":null}`, stub.got["/api/project/main/runs/get"])

	require.NoError(t, b.StopRun(ctx, "main", "train-llama", true))
	require.JSONEq(t, `{"runs_names":["train-llama"],"abort":true}`, stub.got["/api/project/main/runs/stop"])

	fleets, err := b.ListFleets(ctx, "main")
	require.NoError(t, err)
	require.Len(t, fleets[0].Instances, 2)

	logs, err := b.PollLogs(ctx, "main", schemas.PollLogsRequest{RunName: "r", JobSubmissionID: "s"})
	require.NoError(t, err)
	require.Equal(t, "aGkK", logs.Logs[0].Message, "the page decodes base64, the backend passes it on")

	enc, err := b.EncryptionStatus(ctx)
	require.NoError(t, err)
	require.Len(t, enc.Keys, 2)

	id, err := b.Whoami(ctx)
	require.NoError(t, err)
	require.Equal(t, &Identity{Username: "alice", ServerURL: srv.URL, ServerVersion: "0.21.2"}, id)

	bs, err := b.ListBackends(ctx)
	require.NoError(t, err)
	require.Len(t, bs, 1, "a project the user may not read is left out")
	require.Equal(t, "main", bs[0].Project)
	require.Equal(t, "aws", bs[0].Backends[0].Type)
	require.Equal(t, []string{"us-east-1"}, bs[0].Backends[0].Regions)

}

func TestHTTPBackendErrors(t *testing.T) {
	stub := &apiStub{got: map[string]string{}, answers: map[string]any{
		"/api/admin/server/status":      &stubAnswer{status: 403, body: `{"detail":{"msg":"Access denied","code":null}}`},
		"/api/project/nope/fleets/list": &stubAnswer{status: 404, body: `{"detail":{"msg":"Not found","code":null}}`},
	}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	b := NewHTTPBackend(client.New(srv.URL, "tok"))
	ctx := context.Background()

	_, err := b.ServerStatus(ctx)
	require.ErrorIs(t, err, ErrForbidden)
	_, err = b.ListFleets(ctx, "nope")
	require.ErrorIs(t, err, ErrNotAvailable)
	_, err = b.PollLogs(ctx, "other", schemas.PollLogsRequest{})
	require.ErrorIs(t, err, ErrNotAvailable, "a route the server lacks answers 404 {detail: Not Found}")
	_, err = NewHTTPBackend(client.New(srv.URL, "bad")).ListRuns(ctx, "main", false)
	require.ErrorIs(t, err, ErrForbidden)

	srv.Close()
	_, err = b.ListRuns(ctx, "main", false)
	require.ErrorIs(t, err, ErrUnreachable)
	require.Contains(t, cause(err), "cannot reach the dstack server")
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "business error", err: &client.Error{Status: 400, Msg: "run not found"}},
		{name: "route missing", err: &client.Error{Status: 404}, want: ErrNotAvailable},
		{name: "forbidden", err: &client.Error{Status: 403}, want: ErrForbidden},
		{name: "bad gateway", err: &client.Error{Status: 502}, want: ErrUnreachable},
		{name: "timeout", err: context.DeadlineExceeded, want: ErrUnreachable},
		{name: "cancelled", err: context.Canceled},
		{name: "garbage", err: &json.SyntaxError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			for _, s := range []error{ErrNotAvailable, ErrForbidden, ErrUnreachable} {
				require.Equal(t, s == tt.want, errors.Is(got, s), "sentinel %v", s)
			}
			require.ErrorIs(t, got, tt.err)
		})
	}
}
