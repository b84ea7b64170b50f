package shim

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startShim runs a shim on an ephemeral port until the test ends.
func startShim(t *testing.T, cfg Config) (*Server, *client.ShimClient) {
	t.Helper()
	cfg.HTTPPort = -1
	if cfg.HomeDir == "" {
		cfg.HomeDir = t.TempDir()
	}
	srv, err := New(cfg, testLogger())
	require.NoError(t, err, "new shim")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "shim Run")
	})
	testutil.Eventually(t, 5*time.Second, "shim listening", func() bool { return srv.Addr() != nil })
	hc := &http.Client{Timeout: 30 * time.Second}
	return srv, client.NewShimClient(hc, "http://"+srv.Addr().String())
}

func taskConfig(id, image string) schemas.TaskConfigBody {
	return schemas.TaskConfigBody{
		ID: id, Name: "test-run-0-0", ImageName: image, ContainerUser: "root",
		GPU: 0, NetworkMode: schemas.NetworkModeHost,
		ContainerSSHKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdzZHVtbXlrZXlmb3J0ZXN0cw test"},
	}
}

// waitTask polls GET /api/tasks/{id} until cond holds.
func waitTask(t *testing.T, c *client.ShimClient, id string, timeout time.Duration,
	cond func(*schemas.TaskInfoResponse) bool) *schemas.TaskInfoResponse {
	t.Helper()
	var last *schemas.TaskInfoResponse
	testutil.Eventually(t, timeout, "task "+id+" state", func() bool {
		info, err := c.GetTask(context.Background(), id)
		require.NoError(t, err, "get task")
		last = info
		return cond(info)
	})
	return last
}

func isRunning(i *schemas.TaskInfoResponse) bool {
	return i.Status == schemas.TaskStatusRunning && i.Ports != nil
}

func isTerminated(i *schemas.TaskInfoResponse) bool { return i.Status == schemas.TaskStatusTerminated }

// runnerURL returns the runner's base URL from the task's port mappings
// (the runner port itself when none, as in host network mode).
func runnerURL(info *schemas.TaskInfoResponse, runnerPort int) string {
	port := runnerPort
	for _, p := range info.Ports {
		if p.Container == runnerPort {
			port = p.Host
		}
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// runJob drives the runner like the server: healthcheck, submit, upload
// code, run, then pull until the job has a final state. It returns the
// final state and the job output.
func runJob(t *testing.T, baseURL string, commands ...string) (schemas.JobStateEvent, string) {
	t.Helper()
	ctx := context.Background()
	rc := client.NewRunnerClient(&http.Client{Timeout: 10 * time.Second}, baseURL)
	testutil.Eventually(t, 20*time.Second, "runner healthcheck", func() bool {
		h, err := rc.Healthcheck(ctx)
		return err == nil && h.Service == "dstack-runner"
	})
	body := schemas.SubmitBody{
		Run:           schemas.Run{ID: "run-1", RunSpec: schemas.RunSpec{RunName: "test-run", RepoID: "none"}},
		JobSpec:       schemas.JobSpec{JobsPerReplica: 1, Commands: commands, Env: map[string]string{}},
		JobSubmission: schemas.JobSubmission{ID: "sub-1"},
	}
	require.NoError(t, rc.Submit(ctx, body), "runner submit")
	require.NoError(t, rc.UploadCode(ctx, nil), "runner upload code")
	_, err := rc.Run(ctx)
	require.NoError(t, err, "runner run")
	var out strings.Builder
	var final *schemas.JobStateEvent
	var last int64
	testutil.Eventually(t, 60*time.Second, "job final state", func() bool {
		resp, err := rc.Pull(ctx, last)
		require.NoError(t, err, "runner pull")
		last = resp.LastUpdated
		for _, l := range resp.JobLogs {
			out.Write(l.Message)
		}
		for i, s := range resp.JobStates {
			if s.State != schemas.JobStateRunning {
				final = &resp.JobStates[i]
			}
		}
		return final != nil
	})
	return *final, out.String()
}
