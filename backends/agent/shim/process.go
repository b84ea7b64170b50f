package shim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/dstackgo/dstack/backends/agent/runner"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// processExecutor runs the runner as a child process on the host, for hosts
// without a container runtime. The image, user, resource limits and mounts of
// the task do not apply; the job runs in Dir/work with the shim's privileges.
type processExecutor struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	procs map[string]*hostProc
	ports map[int]bool // host ports handed out to live tasks
}

type hostProc struct {
	spec   TaskSpec
	ports  []schemas.PortMapping
	cmd    *exec.Cmd
	exited chan struct{} // closed after cmd.Wait returned
	err    error
}

func newProcessExecutor(cfg Config, log *slog.Logger) *processExecutor {
	return &processExecutor{cfg: cfg, log: log, procs: map[string]*hostProc{}, ports: map[int]bool{}}
}

// Kind implements Executor.
func (e *processExecutor) Kind() string { return ExecutorProcess }

// Pull implements Executor; there is nothing to pull.
func (e *processExecutor) Pull(_ context.Context, spec TaskSpec, _ func(schemas.ImagePullProgress)) error {
	e.log.Info("process executor ignores the image", "task", spec.ID, "image", spec.Config.ImageName)
	return nil
}

// Create implements Executor: it allocates loopback ports and prepares dirs.
func (e *processExecutor) Create(_ context.Context, spec TaskSpec) (string, error) {
	for _, d := range []string{"runner", "work", "dstack"} {
		if err := os.MkdirAll(filepath.Join(spec.Dir, d), 0o755); err != nil {
			return "", fmt.Errorf("create task dir: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	httpPort, err := e.allocPort(e.cfg.RunnerHTTPPort)
	if err != nil {
		return "", err
	}
	sshPort, err := e.allocPort(e.cfg.RunnerSSHPort)
	if err != nil {
		delete(e.ports, httpPort)
		return "", err
	}
	e.procs[spec.ID] = &hostProc{spec: spec, exited: make(chan struct{}), ports: []schemas.PortMapping{
		{Host: httpPort, Container: e.cfg.RunnerHTTPPort},
		{Host: sshPort, Container: e.cfg.RunnerSSHPort},
	}}
	return "", nil
}

// allocPort returns preferred if it is free on 127.0.0.1, else an ephemeral
// port. Callers hold e.mu.
func (e *processExecutor) allocPort(preferred int) (int, error) {
	if !e.ports[preferred] {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", preferred)); err == nil {
			_ = ln.Close()
			e.ports[preferred] = true
			return preferred, nil
		}
	}
	for i := 0; i < 10; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("allocate port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !e.ports[port] {
			e.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("allocate port: no free port")
}

func (e *processExecutor) get(id string) (*hostProc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.procs[id]
	if !ok {
		return nil, fmt.Errorf("%w: no process for task %s", ErrNotFound, id)
	}
	return p, nil
}

// Start implements Executor: `<binary> runner --http-port P ...`.
func (e *processExecutor) Start(_ context.Context, id string) ([]schemas.PortMapping, error) {
	p, err := e.get(id)
	if err != nil {
		return nil, err
	}
	rc := runner.Config{
		HTTPAddress: "127.0.0.1", HTTPPort: p.ports[0].Host, SSHPort: p.ports[1].Host,
		TempDir: filepath.Join(p.spec.Dir, "runner"), DstackDir: filepath.Join(p.spec.Dir, "dstack"),
		WorkDir: filepath.Join(p.spec.Dir, "work"), SSHAuthorizedKeys: p.spec.Config.ContainerSSHKeys,
		LogLevel: e.cfg.RunnerLogLevel, Version: e.cfg.Version,
		MetricsScope: runner.MetricsScopeProcess, // the host's cgroup is not the job's
	}
	logFile, err := os.OpenFile(filepath.Join(p.spec.Dir, "runner.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open runner log: %w", err)
	}
	defer logFile.Close()
	args := append(append([]string{}, e.cfg.RunnerArgs...), rc.Args()...)
	cmd := exec.Command(e.cfg.RunnerBinary, args...)
	cmd.Dir = rc.WorkDir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start runner: %w", err)
	}
	e.mu.Lock()
	p.cmd = cmd
	e.mu.Unlock()
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	e.log.Info("runner process started", "task", id, "pid", cmd.Process.Pid, "ports", p.ports)
	return p.ports, nil
}

// Wait implements Executor.
func (e *processExecutor) Wait(ctx context.Context, id string) (int, error) {
	p, err := e.get(id)
	if err != nil {
		return 0, err
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for runner: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(p.err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	return 0, p.err
}

// Stop implements Executor: SIGTERM to the runner's process group, SIGKILL
// after timeout.
func (e *processExecutor) Stop(_ context.Context, id string, timeout time.Duration) error {
	p, err := e.get(id)
	if err != nil {
		return nil // never started
	}
	e.mu.Lock()
	cmd := p.cmd
	e.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	return nil
}

// LastLogs implements Executor from Dir/runner.log.
func (e *processExecutor) LastLogs(_ context.Context, id string, n int) []string {
	p, err := e.get(id)
	if err != nil {
		return nil
	}
	return tailFile(filepath.Join(p.spec.Dir, "runner.log"), n)
}

// Remove implements Executor.
func (e *processExecutor) Remove(ctx context.Context, id string) error {
	if err := e.Stop(ctx, id, 0); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.procs[id]; ok {
		for _, pm := range p.ports {
			delete(e.ports, pm.Host)
		}
		delete(e.procs, id)
	}
	return nil
}

// Close stops every runner process (they cannot be re-adopted after a restart).
func (e *processExecutor) Close(ctx context.Context) {
	e.mu.Lock()
	ids := make([]string, 0, len(e.procs))
	for id := range e.procs {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		_ = e.Stop(ctx, id, 5*time.Second)
	}
}
