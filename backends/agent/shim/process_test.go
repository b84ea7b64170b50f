package shim

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/hostinfo"
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func processShim(t *testing.T) (*Server, *client.ShimClient) {
	return startShim(t, Config{Executor: ExecutorProcess, RunnerBinary: testutil.AgentBinary(t)})
}

func TestProcessExecutorEndToEnd(t *testing.T) {
	srv, c := processShim(t)
	ctx := context.Background()
	h, err := c.Healthcheck(ctx)
	if err != nil || h.Service != "dstack-shim" || h.Version != "latest" {
		t.Fatalf("healthcheck = %+v, %v", h, err)
	}
	ii, err := c.InstanceInfo(ctx)
	if err != nil || ii.Executor != ExecutorProcess {
		t.Fatalf("instance info = %+v, %v", ii, err)
	}
	hi, err := hostinfo.ReadFile(filepath.Join(srv.cfg.HomeDir, hostinfo.FileName))
	if err != nil || hi.Executor != ExecutorProcess || hi.CPUs < 1 {
		t.Fatalf("host_info.json = %+v, %v", hi, err)
	}

	const id = "0f4b3c9e-6a51-4c8e-9d7e-2b1f0a9c8d71"
	if err := c.SubmitTask(ctx, taskConfig(id, "ubuntu:22.04")); err != nil {
		t.Fatalf("submit task: %v", err)
	}
	info := waitTask(t, c, id, 20*time.Second, isRunning)
	if len(info.Ports) != 2 {
		t.Fatalf("ports = %+v", info.Ports)
	}
	final, out := runJob(t, runnerURL(info, DefaultRunnerHTTPPort), "echo hello from $DSTACK_RUN_NAME", "pwd")
	if final.State != schemas.JobStateDone || *final.ExitStatus != 0 {
		t.Fatalf("final = %+v", final)
	}
	workDir := filepath.Join(srv.cfg.HomeDir, "runners", uniqueName("test-run-0-0", id), "work")
	if want := "hello from test-run\n" + workDir + "\n"; out != want {
		t.Fatalf("output = %q, want %q", out, want)
	}
	// The runner exits after the final state was pulled; the task follows.
	info = waitTask(t, c, id, 20*time.Second, isTerminated)
	if info.TerminationReason != string(schemas.TerminationReasonDoneByRunner) {
		t.Fatalf("task = %+v", info)
	}
	// The server always terminates; the first reason is kept.
	if err := c.TerminateTask(ctx, id, schemas.TaskTerminateRequest{TerminationReason: "terminated_by_server"}); err != nil {
		t.Fatal(err)
	}
	if info, _ = c.GetTask(ctx, id); info.TerminationReason != string(schemas.TerminationReasonDoneByRunner) {
		t.Fatalf("reason overwritten: %+v", info)
	}
	if err := c.RemoveTask(ctx, id); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := c.GetTask(ctx, id); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("get removed task: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(workDir)); !os.IsNotExist(err) {
		t.Fatalf("task dir not removed: %v", err)
	}
}

func TestProcessExecutorTerminateRunningTask(t *testing.T) {
	_, c := processShim(t)
	ctx := context.Background()
	const id = "7a3e1d2c-0b9f-4e8d-a7c6-5b4a39281706"
	if err := c.SubmitTask(ctx, taskConfig(id, "ubuntu")); err != nil {
		t.Fatal(err)
	}
	info := waitTask(t, c, id, 20*time.Second, isRunning)
	rc := client.NewRunnerClient(nil, runnerURL(info, DefaultRunnerHTTPPort))
	testutil.Eventually(t, 20*time.Second, "runner up", func() bool {
		_, err := rc.Healthcheck(ctx)
		return err == nil
	})
	if err := c.RemoveTask(ctx, id); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("remove running task: %v", err)
	}
	req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", TerminationMessage: "bye", Timeout: 2}
	if err := c.TerminateTask(ctx, id, req); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	info, err := c.GetTask(ctx, id)
	if err != nil || info.Status != schemas.TaskStatusTerminated || info.TerminationReason != "terminated_by_user" ||
		info.TerminationMessage != "bye" {
		t.Fatalf("task = %+v, %v", info, err)
	}
	if _, err := rc.Healthcheck(ctx); err == nil {
		t.Fatal("runner still answers after terminate")
	}
	if err := c.RemoveTask(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestShimAPIErrors(t *testing.T) {
	_, c := processShim(t)
	ctx := context.Background()
	if _, err := c.GetTask(ctx, "nope"); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	if err := c.TerminateTask(ctx, "nope", schemas.TaskTerminateRequest{}); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("terminate unknown: %v", err)
	}
	bad := taskConfig("x", "")
	if err := c.SubmitTask(ctx, bad); !client.IsStatus(err, http.StatusBadRequest) ||
		!strings.Contains(err.Error(), "image_name") {
		t.Fatalf("empty image: %v", err)
	}
	cfg := taskConfig("dup-1", "img")
	cfg.ImageName = "img"
	if err := c.SubmitTask(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.SubmitTask(ctx, cfg); !client.IsStatus(err, http.StatusConflict) {
		t.Fatalf("duplicate submit: %v", err)
	}
	list, err := c.ListTasks(ctx)
	if err != nil || len(list.Tasks) != 1 || list.Tasks[0].ID != "dup-1" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	comps, err := c.Components(ctx)
	if err != nil || len(comps.Components) != 2 {
		t.Fatalf("components = %+v, %v", comps, err)
	}
	if _, err := c.TaskMetrics(ctx, "dup-1"); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("metrics: %v", err)
	}
	_ = c.TerminateTask(ctx, "dup-1", schemas.TaskTerminateRequest{Timeout: 1})
}

func TestShutdownEndpointStopsServer(t *testing.T) {
	srv, err := New(Config{HTTPPort: -1, HomeDir: t.TempDir(), Executor: ExecutorProcess, RunnerBinary: "/bin/true"}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	testutil.Eventually(t, 5*time.Second, "listening", func() bool { return srv.Addr() != nil })
	c := client.NewShimClient(nil, "http://"+srv.Addr().String())
	if err := c.Shutdown(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shim did not stop")
	}
}
