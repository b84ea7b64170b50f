package shim

import (
	"context"
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
	require.Equal(t, ExecutorDocker, srv.ExecutorKind(), "executor")
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
	require.Equal(t, schemas.TaskStatusRunning, info.Status, "task = %+v", info)
	require.Nil(t, info.ImagePullProgress, "image pull progress")
	require.NotEmpty(t, info.ContainerID, "container id")

	mapped := map[int]int{}
	for _, p := range info.Ports {
		mapped[p.Container] = p.Host
	}
	require.NotZero(t, mapped[DefaultRunnerHTTPPort], "runner HTTP port not mapped: %+v", info.Ports)
	require.NotZero(t, mapped[DefaultRunnerSSHPort], "runner SSH port not mapped: %+v", info.Ports)
	script := "echo from-container > /data/out.txt; " +
		"cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; " +
		"echo user=$(id -u) run=$DSTACK_RUN_NAME"
	final, out := runJob(t, runnerURL(info, DefaultRunnerHTTPPort), "/bin/sh", "-c", script)
	require.Equal(t, schemas.JobStateDone, final.State, "final = %+v, output %q", final, out)
	require.Contains(t, out, "67108864\n", "output")
	require.Contains(t, out, "user=0 run=test-run", "output")
	data, err := os.ReadFile(filepath.Join(hostDir, "out.txt"))
	require.NoError(t, err, "bind mount file")
	require.Equal(t, "from-container\n", string(data), "bind mount file")
	info = waitTask(t, c, id, 30*time.Second, isTerminated)
	require.Equal(t, string(schemas.TerminationReasonDoneByRunner), info.TerminationReason, "task = %+v", info)
	assertHostConfig(t, api, info.ContainerID)
	// The image has no OpenSSH: the runner serves SSH itself.
	logs := strings.Join(srv.exec.LastLogs(ctx, id, 100), "\n")
	require.Contains(t, logs, "built-in SSH server started", "runner did not start its SSH server")
	require.NoError(t, c.RemoveTask(ctx, id))
	err = api.call(ctx, http.MethodGet, "/containers/"+info.ContainerID+"/json", nil, nil, nil)
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
	require.Empty(t, info.Ports, "host mode ports")
	rc := client.NewRunnerClient(nil, runnerURL(info, port))
	testutil.Eventually(t, 20*time.Second, "runner in host network", func() bool {
		_, err := rc.Healthcheck(ctx)
		return err == nil
	})
	req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", TerminationMessage: "stop", Timeout: 2}
	require.NoError(t, c.TerminateTask(ctx, id, req))
	var state dockerInspect
	require.NoError(t, api.call(ctx, http.MethodGet, "/containers/"+info.ContainerID+"/json", nil, nil, &state))
	require.False(t, state.State.Running, "container still running: %+v", state.State)
	info, _ = c.GetTask(ctx, id)
	require.Equal(t, "terminated_by_user", info.TerminationReason, "task = %+v", info)
	require.NoError(t, c.RemoveTask(ctx, id))
}

func TestDockerExecutorContainerExitCode(t *testing.T) {
	_, c, api := dockerShim(t, func(cfg *Config) { cfg.RunnerArgs = []string{"runner", "--bogus-flag"} })
	ctx := context.Background()
	const id = "c1d2e3f4-a5b6-4c7d-8e9f-a0b1c2d3e4f5"
	t.Cleanup(func() { removeTaskContainers(t, api, id) })
	require.NoError(t, c.SubmitTask(ctx, taskConfig(id, testImage)))
	info := waitTask(t, c, id, 60*time.Second, isTerminated)
	require.Equal(t, string(schemas.TerminationReasonContainerExitedWithError), info.TerminationReason, "task = %+v", info)
	require.Contains(t, info.TerminationMessage, "bogus-flag", "termination message")
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
	require.NoError(t, err, "restored task")
	require.Equal(t, schemas.TaskStatusRunning, after.Status, "restored task = %+v", after)
	require.Equal(t, before.ContainerID, after.ContainerID, "restored container id")
	require.Len(t, after.Ports, len(before.Ports), "restored ports, before %+v", before.Ports)

	require.NoError(t, c2.TerminateTask(ctx, id, schemas.TaskTerminateRequest{TerminationReason: "terminated_by_server", Timeout: 1}))
	require.NoError(t, c2.RemoveTask(ctx, id))
}
