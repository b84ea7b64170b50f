package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// testRunner is an in-process runner on an ephemeral port.
type testRunner struct {
	srv    *Server
	client *client.RunnerClient
	url    string
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned
	cancel context.CancelFunc
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startRunner(t *testing.T, mutate func(*Config)) *testRunner {
	t.Helper()
	cfg := Config{
		HTTPPort:        -1,
		TempDir:         t.TempDir(),
		DstackDir:       t.TempDir(),
		WorkDir:         t.TempDir(),
		KillGrace:       time.Second,
		LogsWaitTimeout: 3 * time.Second,
		SubmitTimeout:   time.Minute,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRunner{srv: New(cfg, testLogger(t)), done: make(chan struct{}), cancel: cancel}
	go func() { tr.err = tr.srv.Run(ctx); close(tr.done) }()
	testutil.Eventually(t, 5*time.Second, "runner listening", func() bool { return tr.srv.Addr() != nil })
	tr.url = "http://" + tr.srv.Addr().String()
	tr.client = client.NewRunnerClient(&http.Client{Timeout: 10 * time.Second}, tr.url)
	t.Cleanup(func() {
		cancel()
		select {
		case <-tr.done:
		case <-time.After(10 * time.Second):
			assert.Fail(t, "runner did not stop")
		}
	})
	return tr
}

func submitBody(commands ...string) schemas.SubmitBody {
	return schemas.SubmitBody{
		Run: schemas.Run{ID: "run-id-1", RunSpec: schemas.RunSpec{
			RunName: "test-run", RepoID: "none", RepoData: schemas.RepoData{RepoType: "virtual"},
		}},
		JobSpec: schemas.JobSpec{
			JobNum: 0, JobsPerReplica: 1, Commands: commands,
			Env: map[string]string{"MY_VAR": "my-value"},
		},
		JobSubmission: schemas.JobSubmission{ID: "job-id-1"},
		ClusterInfo:   schemas.ClusterInfo{JobIPs: []string{"10.0.0.1"}, MasterJobIP: "10.0.0.1", GPUsPerJob: 0},
		Secrets:       map[string]string{},
	}
}

// startJob submits, uploads no code and runs.
func (tr *testRunner) startJob(t *testing.T, body schemas.SubmitBody) *schemas.JobInfoResponse {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, tr.client.Submit(ctx, body), "submit")
	require.NoError(t, tr.client.UploadCode(ctx, nil), "upload code")
	info, err := tr.client.Run(ctx)
	require.NoError(t, err, "run")
	return info
}

// pulled accumulates everything pulled so far.
type pulled struct {
	states []schemas.JobStateEvent
	logs   []schemas.LogEvent
	runner []schemas.LogEvent
	last   int64
}

func (p *pulled) output() string {
	var b bytes.Buffer
	for _, e := range p.logs {
		b.Write(e.Message)
	}
	return b.String()
}

func (p *pulled) final() *schemas.JobStateEvent {
	if n := len(p.states); n > 0 {
		switch p.states[n-1].State {
		case schemas.JobStateDone, schemas.JobStateFailed, schemas.JobStateTerminated:
			return &p.states[n-1]
		}
	}
	return nil
}

// pullUntil pulls like the server (timestamp = last_updated) until cond holds.
func (tr *testRunner) pullUntil(t *testing.T, p *pulled, timeout time.Duration, cond func(*pulled) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(p) {
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("timeout; states=%+v output=%q", p.states, p.output()))
		}
		resp, err := tr.client.Pull(context.Background(), p.last)
		if err != nil {
			var he *client.HTTPError
			require.False(t, errors.As(err, &he) || !strings.Contains(err.Error(), "refused"), "pull: %v", err)
		} else {
			p.states = append(p.states, resp.JobStates...)
			p.logs = append(p.logs, resp.JobLogs...)
			p.runner = append(p.runner, resp.RunnerLogs...)
			p.last = resp.LastUpdated
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func untilFinal(p *pulled) bool { return p.final() != nil }
