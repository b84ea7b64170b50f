package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestHTTPErrorCarriesEndpointStatusAndBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "task abc is already submitted", http.StatusConflict)
	}))
	defer srv.Close()
	c := NewShimClient(srv.Client(), srv.URL+"/")
	err := c.SubmitTask(context.Background(), schemas.TaskConfigBody{ID: "abc"})
	require.True(t, IsStatus(err, http.StatusConflict), "err = %v", err)
	for _, want := range []string{"POST", "/api/tasks", "409", "already submitted"} {
		assert.Contains(t, err.Error(), want, "error %q lacks %q", err, want)
	}
}

func TestRunnerClientRequests(t *testing.T) {
	var gotArchive, gotCode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/upload_archive":
			f, h, err := r.FormFile("archive")
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			data, _ := io.ReadAll(f)
			gotArchive = h.Filename + ":" + string(data)
		case "/api/upload_code":
			data, _ := io.ReadAll(r.Body)
			gotCode = string(data)
		case "/api/run":
			w.WriteHeader(http.StatusOK) // an old runner: no JSON
		case "/api/pull":
			if r.URL.Query().Get("timestamp") != "42" {
				http.Error(w, "bad timestamp", http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, `{"job_states":[],"job_logs":[{"message":"aGk=","timestamp":43}],"runner_logs":[],"last_updated":43}`)
		}
	}))
	defer srv.Close()
	c := NewRunnerClient(nil, srv.URL)
	ctx := context.Background()
	require.NoError(t, c.UploadArchive(ctx, "arch-id", strings.NewReader("tar-bytes")), "upload archive")
	require.Equal(t, "arch-id:tar-bytes", gotArchive, "upload archive")
	require.NoError(t, c.UploadCode(ctx, strings.NewReader("code")), "upload code")
	require.Equal(t, "code", gotCode, "upload code")
	info, err := c.Run(ctx)
	require.NoError(t, err, "run")
	require.Nil(t, info, "run")

	resp, err := c.Pull(ctx, 42)
	require.NoError(t, err, "pull")
	require.NotEmpty(t, resp.JobLogs, "pull = %+v", resp)
	require.Equal(t, "hi", string(resp.JobLogs[0].Message), "pull: job log")
	require.Equal(t, int64(43), resp.LastUpdated, "pull: last updated")
}

func TestLogsWebSocketURL(t *testing.T) {
	u, err := LogsWebSocketURL("http://127.0.0.1:10999", time.Date(2026, 8, 21, 13, 11, 0, 0, time.UTC))
	require.NoError(t, err, "logs url")
	require.Equal(t, "ws://127.0.0.1:10999/logs_ws?start_time=2026-08-21T13%3A11%3A00Z", u, "logs url")

}
