package shim

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	require.False(t, err != nil || h.Service != "dstack-shim" || h.Version != "latest", "healthcheck = %+v, %v", h, err)
	ii, err := c.InstanceInfo(ctx)
	require.False(t, err != nil || ii.Executor != ExecutorProcess, "instance info = %+v, %v", ii, err)
	hi, err := hostinfo.ReadFile(filepath.Join(srv.cfg.HomeDir, hostinfo.FileName))
	require.False(t, err != nil || hi.Executor != ExecutorProcess || hi.CPUs < 1, "host_info.json = %+v, %v", hi, err)

	const id = "0f4b3c9e-6a51-4c8e-9d7e-2b1f0a9c8d71"
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, "ubuntu:22.04")), "submit task")
	info := waitTask(t, c, id, 20*time.Second, isRunning)
	if len(info.Ports) != 2 {
		require.FailNow(t, fmt.Sprintf("ports = %+v", info.Ports))
	}
	final, out := runJob(t, runnerURL(info, DefaultRunnerHTTPPort), "echo hello from $DSTACK_RUN_NAME", "pwd")
	require.False(t, final.State != schemas.JobStateDone || *final.ExitStatus != 0, "final = %+v", final)
	workDir := filepath.Join(srv.cfg.HomeDir, "runners", uniqueName("test-run-0-0", id), "work")
	if want := "hello from test-run\n" + workDir + "\n"; out != want {
		require.FailNow(t, fmt.Sprintf("output = %q, want %q", out, want))
	}
	// The runner exits after the final state was pulled; the task follows.
	info = waitTask(t, c, id, 20*time.Second, isTerminated)
	require.True(t, info.TerminationReason == string(schemas.TerminationReasonDoneByRunner), "task = %+v", info)
	// The server always terminates; the first reason is kept.
	require.NoError(t, c.TerminateTask(ctx, id, schemas.TaskTerminateRequest{TerminationReason: "terminated_by_server"}))
	if info, _ = c.GetTask(ctx, id); info.TerminationReason != string(schemas.TerminationReasonDoneByRunner) {
		require.FailNow(t, fmt.Sprintf("reason overwritten: %+v", info))
	}
	require.NoError(t, c.RemoveTask(ctx, id), "remove")
	if _, err := c.GetTask(ctx, id); !client.IsStatus(err, http.StatusNotFound) {
		require.FailNow(t, fmt.Sprintf("get removed task: %v", err))
	}
	if _, err := os.Stat(filepath.Dir(workDir)); !os.IsNotExist(err) {
		require.FailNow(t, fmt.Sprintf("task dir not removed: %v", err))
	}
}

func TestProcessExecutorTerminateRunningTask(t *testing.T) {
	_, c := processShim(t)
	ctx := context.Background()
	const id = "7a3e1d2c-0b9f-4e8d-a7c6-5b4a39281706"
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, "ubuntu")))
	info := waitTask(t, c, id, 20*time.Second, isRunning)
	rc := client.NewRunnerClient(nil, runnerURL(info, DefaultRunnerHTTPPort))
	testutil.Eventually(t, 20*time.Second, "runner up", func() bool {
		_, err := rc.Healthcheck(ctx)
		return err == nil
	})
	if err := c.RemoveTask(ctx, id); !client.IsStatus(err, http.StatusConflict) {
		require.FailNow(t, fmt.Sprintf("remove running task: %v", err))
	}
	req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", TerminationMessage: "bye", Timeout: 2}
	require.NoError(t, c.TerminateTask(ctx, id, req), "terminate")
	info, err := c.GetTask(ctx, id)
	if err != nil || info.Status != schemas.TaskStatusTerminated || info.TerminationReason != "terminated_by_user" ||
		info.TerminationMessage != "bye" {
		require.FailNow(t, fmt.Sprintf("task = %+v, %v", info, err))
	}
	_, err = rc.Healthcheck(ctx)
	require.Error(t, err, "runner still answers after terminate")
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestShimAPIErrors(t *testing.T) {
	_, c := processShim(t)
	ctx := context.Background()
	if _, err := c.GetTask(ctx, "nope"); !client.IsStatus(err, http.StatusNotFound) {
		require.FailNow(t, fmt.Sprintf("unknown task: %v", err))
	}
	if err := c.TerminateTask(ctx, "nope", schemas.TaskTerminateRequest{}); !client.IsStatus(err, http.StatusNotFound) {
		require.FailNow(t, fmt.Sprintf("terminate unknown: %v", err))
	}
	bad := taskConfig("x", "")
	if err := c.SubmitTask(ctx, bad); !client.IsStatus(err, http.StatusBadRequest) ||
		!strings.Contains(err.Error(), "image_name") {
		require.FailNow(t, fmt.Sprintf("empty image: %v", err))
	}
	cfg := taskConfig("dup-1", "img")
	cfg.ImageName = "img"
	require.NoError(t, c.SubmitTask(ctx, cfg))
	if err := c.SubmitTask(ctx, cfg); !client.IsStatus(err, http.StatusConflict) {
		require.FailNow(t, fmt.Sprintf("duplicate submit: %v", err))
	}
	list, err := c.ListTasks(ctx)
	require.False(t, err != nil || len(list.Tasks) != 1 || list.Tasks[0].ID != "dup-1", "list = %+v, %v", list, err)
	comps, err := c.Components(ctx)
	require.False(t, err != nil || len(comps.Components) != 2, "components = %+v, %v", comps, err)
	if _, err := c.TaskMetrics(ctx, "dup-1"); !client.IsStatus(err, http.StatusNotFound) {
		require.FailNow(t, fmt.Sprintf("metrics: %v", err))
	}
	_ = c.TerminateTask(ctx, "dup-1", schemas.TaskTerminateRequest{Timeout: 1})
}

func TestShutdownEndpointStopsServer(t *testing.T) {
	srv, err := New(Config{HTTPPort: -1, HomeDir: t.TempDir(), Executor: ExecutorProcess, RunnerBinary: "/bin/true"}, testLogger())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	testutil.Eventually(t, 5*time.Second, "listening", func() bool { return srv.Addr() != nil })
	c := client.NewShimClient(nil, "http://"+srv.Addr().String())
	require.NoError(t, c.Shutdown(context.Background(), false))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "shim did not stop")
	}
}
