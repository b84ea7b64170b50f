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
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func dockerShim(t *testing.T, mutate func(*Config)) (*Server, *client.ShimClient, *dockerAPI) {
	api := requireDocker(t)
	ensureBusyboxImage(t, api)
	cfg := Config{Executor: ExecutorDocker, RunnerBinary: testutil.AgentBinary(t)}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, c := startShim(t, cfg)
	if srv.ExecutorKind() != ExecutorDocker {
		require.FailNow(t, fmt.Sprintf("executor = %s", srv.ExecutorKind()))
	}
	return srv, c, api
}

func TestDockerExecutorBridgeEndToEnd(t *testing.T) {
	srv, c, api := dockerShim(t, nil)
	ctx := context.Background()
	const id = "d0c4e7b2-1f3a-4c5d-8e9f-0a1b2c3d4e5f"
	t.Cleanup(func() { removeTaskContainers(t, api, id) })
	hostDir := t.TempDir()
	cfg := taskConfig(id, testImage)
	cfg.NetworkMode = schemas.NetworkModeBridge
	cfg.Memory = 64 << 20
	cfg.CPU = 0.5
	cfg.ShmSize = 16 << 20
	cfg.InstanceMounts = []schemas.InstanceMountPoint{{InstancePath: hostDir, Path: "/data"}}
	require.NoError(t, c.SubmitTask(ctx, cfg))
	info := waitTask(t, c, id, 60*time.Second, func(i *schemas.TaskInfoResponse) bool { return isRunning(i) || isTerminated(i) })
	require.False(t, info.Status != schemas.TaskStatusRunning || info.ImagePullProgress != nil || info.ContainerID == "", "task = %+v", info)
	mapped := map[int]int{}
	for _, p := range info.Ports {
		mapped[p.Container] = p.Host
	}
	if mapped[DefaultRunnerHTTPPort] == 0 || mapped[DefaultRunnerSSHPort] == 0 {
		require.FailNow(t, fmt.Sprintf("ports = %+v", info.Ports))
	}
	script := "echo from-container > /data/out.txt; " +
		"cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; " +
		"echo user=$(id -u) run=$DSTACK_RUN_NAME"
	final, out := runJob(t, runnerURL(info, DefaultRunnerHTTPPort), "/bin/sh", "-c", script)
	require.True(t, final.State == schemas.JobStateDone, "final = %+v, output %q", final, out)
	require.False(t, !strings.Contains(out, "67108864\n") || !strings.Contains(out, "user=0 run=test-run"), "output = %q", out)
	if data, err := os.ReadFile(filepath.Join(hostDir, "out.txt")); err != nil || string(data) != "from-container\n" {
		require.FailNow(t, fmt.Sprintf("bind mount file = %q, %v", data, err))
	}
	info = waitTask(t, c, id, 30*time.Second, isTerminated)
	require.True(t, info.TerminationReason == string(schemas.TerminationReasonDoneByRunner), "task = %+v", info)
	assertHostConfig(t, api, info.ContainerID)
	// The image has no OpenSSH: the runner serves SSH itself.
	if logs := strings.Join(srv.exec.LastLogs(ctx, id, 100), "\n"); !strings.Contains(logs, "built-in SSH server started") {
		require.FailNow(t, fmt.Sprintf("runner did not start its SSH server: %s", logs))
	}
	require.NoError(t, c.RemoveTask(ctx, id))
	err := api.call(ctx, http.MethodGet, "/containers/"+info.ContainerID+"/json", nil, nil, nil)
	require.True(t, isNotFound(err), "container still exists: %v", err)
}

func TestDockerExecutorHostNetworkTerminate(t *testing.T) {
	port := freePort(t)
	_, c, api := dockerShim(t, func(cfg *Config) { cfg.RunnerHTTPPort = port })
	ctx := context.Background()
	const id = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
	t.Cleanup(func() { removeTaskContainers(t, api, id) })
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, testImage)))
	info := waitTask(t, c, id, 60*time.Second, isRunning)
	if len(info.Ports) != 0 {
		require.FailNow(t, fmt.Sprintf("host mode ports = %+v", info.Ports))
	}
	rc := client.NewRunnerClient(nil, runnerURL(info, port))
	testutil.Eventually(t, 20*time.Second, "runner in host network", func() bool {
		_, err := rc.Healthcheck(ctx)
		return err == nil
	})
	req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", TerminationMessage: "stop", Timeout: 2}
	require.NoError(t, c.TerminateTask(ctx, id, req))
	var state dockerInspect
	require.NoError(t, api.call(ctx, http.MethodGet, "/containers/"+info.ContainerID+"/json", nil, nil, &state))
	if state.State.Running {
		require.FailNow(t, fmt.Sprintf("container still running: %+v", state.State))
	}
	if info, _ = c.GetTask(ctx, id); info.TerminationReason != "terminated_by_user" {
		require.FailNow(t, fmt.Sprintf("task = %+v", info))
	}
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestDockerExecutorContainerExitCode(t *testing.T) {
	_, c, api := dockerShim(t, func(cfg *Config) { cfg.RunnerArgs = []string{"runner", "--bogus-flag"} })
	ctx := context.Background()
	const id = "c1d2e3f4-a5b6-4c7d-8e9f-a0b1c2d3e4f5"
	t.Cleanup(func() { removeTaskContainers(t, api, id) })
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, testImage)))
	info := waitTask(t, c, id, 60*time.Second, isTerminated)
	if info.TerminationReason != string(schemas.TerminationReasonContainerExitedWithError) ||
		!strings.Contains(info.TerminationMessage, "bogus-flag") {
		require.FailNow(t, fmt.Sprintf("task = %+v", info))
	}
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestDockerExecutorPullFailure(t *testing.T) {
	_, c, _ := dockerShim(t, nil)
	ctx := context.Background()
	const id = "f0e1d2c3-b4a5-4968-8776-655443322110"
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, "127.0.0.1:1/dstack-test/missing:1")))
	info := waitTask(t, c, id, 60*time.Second, isTerminated)
	require.True(t, info.TerminationReason == string(schemas.TerminationReasonCreatingContainerError), "task = %+v", info)
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestDockerShimRestartRestoresTasks(t *testing.T) {
	api := requireDocker(t)
	ensureBusyboxImage(t, api)
	home := t.TempDir()
	cfg := Config{Executor: ExecutorDocker, RunnerBinary: testutil.AgentBinary(t), HomeDir: home}
	const id = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
	t.Cleanup(func() { removeTaskContainers(t, api, id) })
	ctx := context.Background()

	first, err := New(Config{HTTPPort: -1, Executor: cfg.Executor, RunnerBinary: cfg.RunnerBinary, HomeDir: home}, testLogger())
	require.NoError(t, err)
	runCtx, stopFirst := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(runCtx) }()
	testutil.Eventually(t, 5*time.Second, "first shim", func() bool { return first.Addr() != nil })
	c1 := client.NewShimClient(nil, "http://"+first.Addr().String())
	tc := taskConfig(id, testImage)
	tc.NetworkMode = schemas.NetworkModeBridge
	require.NoError(t, c1.SubmitTask(ctx, tc))
	before := waitTask(t, c1, id, 60*time.Second, isRunning)
	stopFirst()
	require.NoError(t, <-done)

	_, c2 := startShim(t, cfg)
	after, err := c2.GetTask(ctx, id)
	if err != nil || after.Status != schemas.TaskStatusRunning || after.ContainerID != before.ContainerID ||
		len(after.Ports) != len(before.Ports) {
		require.FailNow(t, fmt.Sprintf("restored task = %+v (before %+v), %v", after, before, err))
	}
	require.NoError(t, c2.TerminateTask(ctx, id, schemas.TaskTerminateRequest{TerminationReason: "terminated_by_server", Timeout: 1}))
	require.NoError(t, c2.RemoveTask(ctx, id))
}
