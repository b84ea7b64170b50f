package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

func scrape(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPrometheusMetrics scrapes /metrics of a server with a run, a
// Litestream replica (file://) and the metrics switched on; without the
// switch /metrics is not found.
func TestPrometheusMetrics(t *testing.T) {
	off := servertest.Start(t, server.Options{})
	code, _ := scrape(t, off, "")
	require.Equal(t, http.StatusNotFound, code)

	url := servertest.Start(t, server.Options{Metrics: true, MetricsToken: "scrape-token",
		LitestreamURL: "file://" + filepath.Join(t.TempDir(), "replica")})
	s := &testServer{Client: client.New(url, servertest.AdminToken)}
	var run schemas.Run
	require.NoError(t, s.Call(context.Background(), "/api/project/main/runs/apply",
		schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: taskSpec(t, "metered", 1, "true")}}, &run))
	code, _ = scrape(t, url, "wrong")
	require.Equal(t, http.StatusForbidden, code)
	var body string
	eventually(t, 30*time.Second, "the run is counted and a pipeline claimed it", func() error {
		code, body = scrape(t, url, "scrape-token")
		if code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		for _, want := range []string{
			`dstack_run_count_total{dstack_project_name="main",dstack_user_name="admin"} 1`,
			`dstack_server_runs{dstack_project_name="main",status=`,
			`dstack_server_jobs{dstack_project_name="main",status=`,
			`dstack_server_pipeline_claimed_total{pipeline=`,
			`dstack_server_pipeline_lag_seconds{pipeline="runs"}`,
			`dstack_server_http_request_duration_seconds_bucket{code="200",method="POST",route="/api/project/:project_name/runs/apply"`,
			`dstack_server_litestream_lag_seconds{replica="file://`,
			`dstack_server_scrape_errors 0`,
		} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("no %s in:\n%s", want, body)
			}
		}
		return nil
	})
}

// BenchmarkApplyLitestream measures runs/apply with and without Litestream
// replicating the database (to a file:// replica, so that only the
// replication's own cost shows): the difference is its added latency.
func BenchmarkApplyLitestream(b *testing.B) {
	for _, tc := range []struct{ name, replica string }{{"off", ""}, {"file_replica", "file://"}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := server.Options{BackgroundDisabled: true}
			if tc.replica != "" {
				opts.LitestreamURL = tc.replica + filepath.Join(b.TempDir(), "replica")
			}
			s := &testServer{Client: client.New(servertest.Start(b, opts), servertest.AdminToken)}
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				spec := taskSpec(b, fmt.Sprintf("bench-%d", i), 1, "true")
				require.NoError(b, s.Call(ctx, "/api/project/main/runs/apply",
					schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: spec}}, nil))
			}
		})
	}
}
