package shim

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
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
	require.NoError(t, err, "healthcheck")
	require.Equal(t, "dstack-shim", h.Service, "healthcheck service")
	require.Equal(t, "latest", h.Version, "healthcheck version")
	ii, err := c.InstanceInfo(ctx)
	require.NoError(t, err, "instance info")
	require.Equal(t, ExecutorProcess, ii.Executor, "instance info executor")
	hi, err := hostinfo.ReadFile(filepath.Join(srv.cfg.HomeDir, hostinfo.FileName))
	require.NoError(t, err, "host_info.json")
	require.Equal(t, ExecutorProcess, hi.Executor, "host_info.json executor")
	require.GreaterOrEqual(t, hi.CPUs, 1, "host_info.json cpus")

	const id = "0f4b3c9e-6a51-4c8e-9d7e-2b1f0a9c8d71"
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, "ubuntu:22.04")), "submit task")
	info := waitTask(t, c, id, 20*time.Second, isRunning)
	require.Len(t, info.Ports, 2, "ports")
	final, out := runJob(t, runnerURL(info, DefaultRunnerHTTPPort), "echo hello from $DSTACK_RUN_NAME", "pwd")
	require.Equal(t, schemas.JobStateDone, final.State, "final = %+v", final)
	require.NotNil(t, final.ExitStatus, "final exit status")
	require.Zero(t, *final.ExitStatus, "final exit status")
	workDir := filepath.Join(srv.cfg.HomeDir, "runners", uniqueName("test-run-0-0", id), "work")
	require.Equal(t, "hello from test-run\n"+workDir+"\n", out, "output")
	// The runner exits after the final state was pulled; the task follows.
	info = waitTask(t, c, id, 20*time.Second, isTerminated)
	require.Equal(t, string(schemas.TerminationReasonDoneByRunner), info.TerminationReason, "task = %+v", info)
	// The server always terminates; the first reason is kept.
	require.NoError(t, c.TerminateTask(ctx, id, schemas.TaskTerminateRequest{TerminationReason: "terminated_by_server"}))
	info, _ = c.GetTask(ctx, id)
	require.Equal(t, string(schemas.TerminationReasonDoneByRunner), info.TerminationReason, "reason overwritten: %+v", info)
	require.NoError(t, c.RemoveTask(ctx, id), "remove")
	_, err = c.GetTask(ctx, id)
	require.True(t, client.IsStatus(err, http.StatusNotFound), "get removed task: %v", err)
	_, err = os.Stat(filepath.Dir(workDir))
	require.ErrorIs(t, err, os.ErrNotExist, "task dir not removed")
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
	err := c.RemoveTask(ctx, id)
	require.True(t, client.IsStatus(err, http.StatusConflict), "remove running task: %v", err)
	req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", TerminationMessage: "bye", Timeout: 2}
	require.NoError(t, c.TerminateTask(ctx, id, req), "terminate")
	info, err = c.GetTask(ctx, id)
	require.NoError(t, err, "get task")
	require.Equal(t, schemas.TaskStatusTerminated, info.Status, "task = %+v", info)
	require.Equal(t, "terminated_by_user", info.TerminationReason, "termination reason")
	require.Equal(t, "bye", info.TerminationMessage, "termination message")
	_, err = rc.Healthcheck(ctx)
	require.Error(t, err, "runner still answers after terminate")
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestShimAPIErrors(t *testing.T) {
	_, c := processShim(t)
	ctx := context.Background()
	_, err := c.GetTask(ctx, "nope")
	require.True(t, client.IsStatus(err, http.StatusNotFound), "unknown task: %v", err)
	err = c.TerminateTask(ctx, "nope", schemas.TaskTerminateRequest{})
	require.True(t, client.IsStatus(err, http.StatusNotFound), "terminate unknown: %v", err)
	bad := taskConfig("x", "")
	err = c.SubmitTask(ctx, bad)
	require.True(t, client.IsStatus(err, http.StatusBadRequest), "empty image: %v", err)
	require.ErrorContains(t, err, "image_name", "empty image")
	cfg := taskConfig("dup-1", "img")
	cfg.ImageName = "img"
	require.NoError(t, c.SubmitTask(ctx, cfg))
	err = c.SubmitTask(ctx, cfg)
	require.True(t, client.IsStatus(err, http.StatusConflict), "duplicate submit: %v", err)
	list, err := c.ListTasks(ctx)
	require.NoError(t, err, "list")
	require.Len(t, list.Tasks, 1, "list")
	require.Equal(t, "dup-1", list.Tasks[0].ID, "list")
	comps, err := c.Components(ctx)
	require.NoError(t, err, "components")
	require.Len(t, comps.Components, 2, "components")
	_, err = c.TaskMetrics(ctx, "dup-1")
	require.True(t, client.IsStatus(err, http.StatusNotFound), "metrics: %v", err)

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
