package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestRunnerJobFailsWithExitStatus(t *testing.T) {
	tr := startRunner(t, nil)
	body := submitBody("echo line-1", "echo line-2 $DSTACK_RUN_NAME $MY_VAR", "echo line-3 $DSTACK_NODES_NUM", "exit 7")
	info := tr.startJob(t, body)
	require.False(t, info == nil || info.WorkingDir != tr.srv.cfg.WorkDir || info.Username == "", "run info = %+v", info)
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)

	fin := p.final()
	require.Equal(t, schemas.JobStateFailed, fin.State, "final state = %+v", fin)
	require.NotNil(t, fin.ExitStatus, "final exit status")
	require.Equal(t, 7, *fin.ExitStatus, "final exit status")
	require.Equal(t, schemas.JobStateRunning, p.states[0].State, "first state")
	require.Equal(t, "line-1\nline-2 test-run my-value\nline-3 1\n", p.output(), "output")
	assertIncreasing(t, &p)
	require.NotEmpty(t, p.runner, "no runner logs")
	select {
	case <-tr.done:
		require.NoError(t, tr.err, "Run returned")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "runner did not exit after the final state was pulled")
	}
}

// assertIncreasing checks that all timestamps are distinct, increasing per
// stream and bounded by last_updated.
func assertIncreasing(t *testing.T, p *pulled) {
	t.Helper()
	seen := map[int64]bool{}
	check := func(kind string, ts []int64) {
		for i, v := range ts {
			require.False(t, seen[v], "%s timestamp %d repeated", kind, v)
			seen[v] = true
			if i > 0 {
				require.Greater(t, v, ts[i-1], "%s timestamps not increasing: %v", kind, ts)
			}
			require.LessOrEqual(t, v, p.last, "%s timestamp > last_updated", kind)
		}
	}
	var states, logs []int64
	for _, e := range p.states {
		states = append(states, e.Timestamp)
	}
	for _, e := range p.logs {
		logs = append(logs, e.Timestamp)
	}
	check("state", states)
	check("log", logs)
	now := time.Now().UnixMilli()
	require.GreaterOrEqual(t, states[0], now-60_000, "timestamp %d is not in milliseconds", states[0])
	require.LessOrEqual(t, states[0], now+1000, "timestamp %d is not in milliseconds", states[0])
}

func TestRunnerArgvCommandsDone(t *testing.T) {
	tr := startRunner(t, nil)
	tr.startJob(t, submitBody("/bin/sh", "-c", "for i in 1 2 3 4 5; do echo n$i; done; echo $DSTACK_JOB_ID"))
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)
	fin := p.final()
	require.Equal(t, schemas.JobStateDone, fin.State, "final = %+v", fin)
	require.NotNil(t, fin.ExitStatus, "final exit status")
	require.Zero(t, *fin.ExitStatus, "final exit status")
	require.Equal(t, "n1\nn2\nn3\nn4\nn5\njob-id-1\n", p.output(), "output")
}

func TestRunnerStopLongRunningJob(t *testing.T) {
	tr := startRunner(t, nil)
	// The shell ignores SIGTERM, so only the SIGKILL after the grace ends it.
	tr.startJob(t, submitBody(`trap "" TERM; echo started; sleep 60; echo never`))
	var p pulled
	tr.pullUntil(t, &p, 10*time.Second, func(p *pulled) bool { return strings.Contains(p.output(), "started") })
	start := time.Now()
	require.NoError(t, tr.client.Stop(context.Background()), "stop")
	tr.pullUntil(t, &p, 10*time.Second, untilFinal)
	require.Equal(t, schemas.JobStateTerminated, p.final().State, "final = %+v", p.final())
	require.Less(t, time.Since(start), 5*time.Second, "stop took too long")
	require.NotContains(t, p.output(), "never", "job continued after stop")
}

func TestRunnerMaxDuration(t *testing.T) {
	tr := startRunner(t, nil)
	body := submitBody("sleep 30")
	body.JobSpec.MaxDuration = 1
	tr.startJob(t, body)
	var p pulled
	tr.pullUntil(t, &p, 10*time.Second, untilFinal)
	fin := p.final()
	require.False(t, fin.State != schemas.JobStateTerminated || fin.TerminationReason != string(schemas.TerminationReasonMaxDurationExceeded), "final = %+v", fin)
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if strings.HasSuffix(name, "/") {
			_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
		_, _ = tw.Write([]byte(content))
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestRunnerUploadCodeAndArchive(t *testing.T) {
	tr := startRunner(t, nil)
	ctx := context.Background()
	repoDir, archivePath := "repo", "files/out"
	body := submitBody("cat repo/hello.txt repo/sub/x.txt files/out/a.txt")
	body.JobSpec.RepoDir = &repoDir
	body.JobSpec.FileArchives = []schemas.FileArchive{{ID: "arch-1", Path: archivePath}}
	require.NoError(t, tr.client.Submit(ctx, body))
	archive := tarOf(t, map[string]string{"data/": "", "data/a.txt": "from-archive\n"})
	require.NoError(t, tr.client.UploadArchive(ctx, "arch-1", bytes.NewReader(archive)), "upload archive")
	code := tarOf(t, map[string]string{"hello.txt": "hello\n", "sub/x.txt": "x\n"})
	require.NoError(t, tr.client.UploadCode(ctx, bytes.NewReader(code)), "upload code")
	_, err := tr.client.Run(ctx)
	require.NoError(t, err)
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)
	require.Equal(t, "hello\nx\nfrom-archive\n", p.output(), "output, final = %+v", p.final())
	require.Equal(t, schemas.JobStateDone, p.final().State, "final = %+v", p.final())
}

func TestRunnerRejectsOutOfOrderCalls(t *testing.T) {
	tr := startRunner(t, nil)
	ctx := context.Background()
	err := tr.client.UploadCode(ctx, nil)
	require.True(t, client.IsStatus(err, http.StatusConflict), "upload before submit: %v", err)
	_, err = tr.client.Run(ctx)
	require.True(t, client.IsStatus(err, http.StatusConflict), "run before submit: %v", err)
	_, err = tr.client.Pull(ctx, 0)
	require.NoError(t, err, "pull before submit")
	resp, err := http.Get(tr.url + "/api/pull?timestamp=abc")
	require.NoError(t, err, "bad timestamp")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "bad timestamp")
	tr.startJob(t, submitBody("true"))
	err = tr.client.Submit(ctx, submitBody("true"))
	require.True(t, client.IsStatus(err, http.StatusConflict), "submit after run: %v", err)
	h, err := tr.client.Healthcheck(ctx)
	require.False(t, err != nil || h.Service != "dstack-runner" || h.Version != "latest", "healthcheck = %+v, %v", h, err)
}

func TestRunnerLogsWebSocket(t *testing.T) {
	tr := startRunner(t, nil)
	tr.startJob(t, submitBody("echo ws-1", "sleep 0.3", "echo ws-2", "sleep 0.3", "echo ws-3"))
	wsURL, err := client.LogsWebSocketURL(tr.url, time.Time{})
	require.NoError(t, err)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	require.NoError(t, err, "dial")
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got bytes.Buffer
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			require.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "read: %v (got %q)", err, got.String())
			break
		}
		require.True(t, typ == websocket.BinaryMessage, "message type %d", typ)
		got.Write(msg)
	}
	require.Equal(t, "ws-1\nws-2\nws-3\n", got.String(), "ws output")

}

func TestRunnerMetrics(t *testing.T) {
	tr := startRunner(t, nil)
	m, err := tr.client.Metrics(context.Background())
	if client.IsStatus(err, http.StatusNotFound) {
		t.Skipf("no cgroup metrics here: %v", err)
	}
	require.NoError(t, err)
	t.Logf("metrics = %+v", m)
	require.False(t, m.Timestamp == 0 || m.MemoryUsage == 0 || m.GPUMetrics == nil, "metrics = %+v", m)
	require.False(t, os.Getenv("DSTACK_AGENT_EXPECT_GPU") == "1" && len(m.GPUMetrics) == 0, "no GPU metrics on a GPU machine")
}
