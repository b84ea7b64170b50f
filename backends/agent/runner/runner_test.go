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

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestRunnerJobFailsWithExitStatus(t *testing.T) {
	tr := startRunner(t, nil)
	body := submitBody("echo line-1", "echo line-2 $DSTACK_RUN_NAME $MY_VAR", "echo line-3 $DSTACK_NODES_NUM", "exit 7")
	info := tr.startJob(t, body)
	if info == nil || info.WorkingDir != tr.srv.cfg.WorkDir || info.Username == "" {
		t.Fatalf("run info = %+v", info)
	}
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)

	fin := p.final()
	if fin.State != schemas.JobStateFailed || fin.ExitStatus == nil || *fin.ExitStatus != 7 {
		t.Fatalf("final state = %+v", fin)
	}
	if p.states[0].State != schemas.JobStateRunning {
		t.Fatalf("first state = %s, want running", p.states[0].State)
	}
	want := "line-1\nline-2 test-run my-value\nline-3 1\n"
	if got := p.output(); got != want {
		t.Fatalf("output = %q, want %q", got, want)
	}
	assertIncreasing(t, &p)
	if len(p.runner) == 0 {
		t.Fatal("no runner logs")
	}
	select {
	case <-tr.done:
		if tr.err != nil {
			t.Fatalf("Run returned %v", tr.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runner did not exit after the final state was pulled")
	}
}

// assertIncreasing checks that all timestamps are distinct, increasing per
// stream and bounded by last_updated.
func assertIncreasing(t *testing.T, p *pulled) {
	t.Helper()
	seen := map[int64]bool{}
	check := func(kind string, ts []int64) {
		for i, v := range ts {
			if seen[v] {
				t.Fatalf("%s timestamp %d repeated", kind, v)
			}
			seen[v] = true
			if i > 0 && v <= ts[i-1] {
				t.Fatalf("%s timestamps not increasing: %v", kind, ts)
			}
			if v > p.last {
				t.Fatalf("%s timestamp %d > last_updated %d", kind, v, p.last)
			}
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
	if now := time.Now().UnixMilli(); states[0] < now-60_000 || states[0] > now+1000 {
		t.Fatalf("timestamp %d is not in milliseconds", states[0])
	}
}

func TestRunnerArgvCommandsDone(t *testing.T) {
	tr := startRunner(t, nil)
	tr.startJob(t, submitBody("/bin/sh", "-c", "for i in 1 2 3 4 5; do echo n$i; done; echo $DSTACK_JOB_ID"))
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)
	fin := p.final()
	if fin.State != schemas.JobStateDone || fin.ExitStatus == nil || *fin.ExitStatus != 0 {
		t.Fatalf("final = %+v", fin)
	}
	if got, want := p.output(), "n1\nn2\nn3\nn4\nn5\njob-id-1\n"; got != want {
		t.Fatalf("output = %q, want %q", got, want)
	}
}

func TestRunnerStopLongRunningJob(t *testing.T) {
	tr := startRunner(t, nil)
	// The shell ignores SIGTERM, so only the SIGKILL after the grace ends it.
	tr.startJob(t, submitBody(`trap "" TERM; echo started; sleep 60; echo never`))
	var p pulled
	tr.pullUntil(t, &p, 10*time.Second, func(p *pulled) bool { return strings.Contains(p.output(), "started") })
	start := time.Now()
	if err := tr.client.Stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	tr.pullUntil(t, &p, 10*time.Second, untilFinal)
	if fin := p.final(); fin.State != schemas.JobStateTerminated {
		t.Fatalf("final = %+v", fin)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %s", d)
	}
	if strings.Contains(p.output(), "never") {
		t.Fatal("job continued after stop")
	}
}

func TestRunnerMaxDuration(t *testing.T) {
	tr := startRunner(t, nil)
	body := submitBody("sleep 30")
	body.JobSpec.MaxDuration = 1
	tr.startJob(t, body)
	var p pulled
	tr.pullUntil(t, &p, 10*time.Second, untilFinal)
	fin := p.final()
	if fin.State != schemas.JobStateTerminated || fin.TerminationReason != string(schemas.TerminationReasonMaxDurationExceeded) {
		t.Fatalf("final = %+v", fin)
	}
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
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRunnerUploadCodeAndArchive(t *testing.T) {
	tr := startRunner(t, nil)
	ctx := context.Background()
	repoDir, archivePath := "repo", "files/out"
	body := submitBody("cat repo/hello.txt repo/sub/x.txt files/out/a.txt")
	body.JobSpec.RepoDir = &repoDir
	body.JobSpec.FileArchives = []schemas.FileArchive{{ID: "arch-1", Path: archivePath}}
	if err := tr.client.Submit(ctx, body); err != nil {
		t.Fatal(err)
	}
	archive := tarOf(t, map[string]string{"data/": "", "data/a.txt": "from-archive\n"})
	if err := tr.client.UploadArchive(ctx, "arch-1", bytes.NewReader(archive)); err != nil {
		t.Fatalf("upload archive: %v", err)
	}
	code := tarOf(t, map[string]string{"hello.txt": "hello\n", "sub/x.txt": "x\n"})
	if err := tr.client.UploadCode(ctx, bytes.NewReader(code)); err != nil {
		t.Fatalf("upload code: %v", err)
	}
	if _, err := tr.client.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var p pulled
	tr.pullUntil(t, &p, 20*time.Second, untilFinal)
	if got, want := p.output(), "hello\nx\nfrom-archive\n"; got != want || p.final().State != schemas.JobStateDone {
		t.Fatalf("output = %q (want %q), final = %+v", got, want, p.final())
	}
}

func TestRunnerRejectsOutOfOrderCalls(t *testing.T) {
	tr := startRunner(t, nil)
	ctx := context.Background()
	if err := tr.client.UploadCode(ctx, nil); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("upload before submit: %v", err)
	}
	if _, err := tr.client.Run(ctx); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("run before submit: %v", err)
	}
	if _, err := tr.client.Pull(ctx, 0); err != nil {
		t.Fatalf("pull before submit: %v", err)
	}
	resp, err := http.Get(tr.url + "/api/pull?timestamp=abc")
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad timestamp: %v %v", resp, err)
	}
	tr.startJob(t, submitBody("true"))
	if err := tr.client.Submit(ctx, submitBody("true")); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("submit after run: %v", err)
	}
	h, err := tr.client.Healthcheck(ctx)
	if err != nil || h.Service != "dstack-runner" || h.Version != "latest" {
		t.Fatalf("healthcheck = %+v, %v", h, err)
	}
}

func TestRunnerLogsWebSocket(t *testing.T) {
	tr := startRunner(t, nil)
	tr.startJob(t, submitBody("echo ws-1", "sleep 0.3", "echo ws-2", "sleep 0.3", "echo ws-3"))
	wsURL, err := client.LogsWebSocketURL(tr.url, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got bytes.Buffer
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("read: %v (got %q)", err, got.String())
			}
			break
		}
		if typ != websocket.BinaryMessage {
			t.Fatalf("message type %d", typ)
		}
		got.Write(msg)
	}
	if want := "ws-1\nws-2\nws-3\n"; got.String() != want {
		t.Fatalf("ws output = %q, want %q", got.String(), want)
	}
}

func TestRunnerMetrics(t *testing.T) {
	tr := startRunner(t, nil)
	m, err := tr.client.Metrics(context.Background())
	if client.IsStatus(err, http.StatusNotFound) {
		t.Skipf("no cgroup metrics here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("metrics = %+v", m)
	if m.Timestamp == 0 || m.MemoryUsage == 0 || m.GPUMetrics == nil {
		t.Fatalf("metrics = %+v", m)
	}
	if os.Getenv("DSTACK_AGENT_EXPECT_GPU") == "1" && len(m.GPUMetrics) == 0 {
		t.Fatal("no GPU metrics on a GPU machine")
	}
}
