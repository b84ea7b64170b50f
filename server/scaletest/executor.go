package scaletest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/runner"
	"github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/backends/agent/shim"
)

// hollowTask is a task of a hollow host: the real runner, served in-process
// on a port of the host.
type hollowTask struct {
	spec   shim.TaskSpec
	port   int
	runner *runner.Server
	ln     *listener
	cancel context.CancelFunc
	done   chan struct{} // closed when the runner's Serve returned
	err    error
}

// Kind implements shim.Executor.
func (h *Host) Kind() string { return "hollow" }

// Pull implements shim.Executor: there is no image.
func (h *Host) Pull(context.Context, shim.TaskSpec, func(schemas.ImagePullProgress)) error {
	return nil
}

// Create implements shim.Executor: a runner on a port of its own.
func (h *Host) Create(_ context.Context, spec shim.TaskSpec) (string, error) {
	for _, d := range []string{"work", "dstack"} {
		if err := os.MkdirAll(filepath.Join(spec.Dir, d), 0o755); err != nil {
			return "", fmt.Errorf("create task dir: %w", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	port := h.nextPort
	h.nextPort++
	r := runner.New(runner.Config{
		HTTPPort: port, TempDir: filepath.Join(spec.Dir, "runner"), DstackDir: filepath.Join(spec.Dir, "dstack"),
		WorkDir: filepath.Join(spec.Dir, "work"), Version: "hollow", KillGrace: time.Second,
		LogBufferBytes: 64 << 10, LogsWaitTimeout: time.Minute,
		Commands: func(ctx context.Context, commands []string, out io.Writer) (int, error) {
			h.hosts.started(spec.Config.Name)
			return runScript(ctx, commands, out)
		},
	}, h.hosts.log)
	h.tasks[spec.ID] = &hollowTask{spec: spec, port: port, runner: r, done: make(chan struct{})}
	if h.live[spec.Config.Name]++; h.live[spec.Config.Name] > 1 {
		h.hosts.doubles.Add(1)
	}
	return "hollow-" + spec.ID, nil
}

func (h *Host) task(id string) (*hollowTask, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: no hollow task %s", shim.ErrNotFound, id)
	}
	return t, nil
}

// Start implements shim.Executor: the runner starts serving.
func (h *Host) Start(_ context.Context, id string) ([]schemas.PortMapping, error) {
	t, err := h.task(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(h.hosts.ctx)
	h.mu.Lock()
	t.cancel, t.ln = cancel, newListener(t.port)
	h.ports[t.port] = t.ln
	h.mu.Unlock()
	h.hosts.wg.Add(1)
	go func() {
		defer h.hosts.wg.Done()
		t.err = t.runner.Serve(ctx, t.ln)
		close(t.done)
	}()
	return []schemas.PortMapping{{Host: t.port, Container: runner.DefaultHTTPPort}}, nil
}

// Wait implements shim.Executor.
func (h *Host) Wait(ctx context.Context, id string) (int, error) {
	t, err := h.task(id)
	if err != nil {
		return 0, err
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if t.err != nil {
		return 1, nil
	}
	return 0, nil
}

// Stop implements shim.Executor.
func (h *Host) Stop(_ context.Context, id string, timeout time.Duration) error {
	t, err := h.task(id)
	if err != nil {
		return nil
	}
	h.mu.Lock()
	cancel := t.cancel
	h.mu.Unlock()
	if cancel == nil {
		return nil // never started
	}
	cancel()
	select {
	case <-t.done:
	case <-time.After(timeout + time.Second):
	}
	return nil
}

// LastLogs implements shim.Executor; a hollow runner keeps no log file.
func (h *Host) LastLogs(context.Context, string, int) []string { return nil }

// Remove implements shim.Executor: the task's port closes and its job
// counts as gone from the host.
func (h *Host) Remove(ctx context.Context, id string) error {
	_ = h.Stop(ctx, id, 0)
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tasks[id]
	if !ok {
		return nil
	}
	delete(h.tasks, id)
	if h.live[t.spec.Config.Name]--; h.live[t.spec.Config.Name] <= 0 {
		delete(h.live, t.spec.Config.Name)
	}
	if t.ln != nil {
		_ = t.ln.Close()
		delete(h.ports, t.port)
	}
	return nil
}

// runScript is the hollow runner's command runner. The server sends
// [shell, "-i", "-c", script], the script being the configuration's
// commands joined by " && "; each command is one of
//
//	sleep SECONDS | echo WORDS... | exit CODE | true | false
//
// Anything else fails the job with a message that says so.
func runScript(ctx context.Context, commands []string, out io.Writer) (int, error) {
	script := strings.Join(commands, " ")
	if n := len(commands); n >= 2 && commands[n-2] == "-c" {
		script = commands[n-1]
	}
	for _, line := range strings.Split(script, "&&") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "sleep":
			secs, err := strconv.ParseFloat(strings.Join(f[1:], ""), 64)
			if err != nil || secs < 0 {
				return 0, fmt.Errorf("hollow host: sleep wants seconds, got %q", strings.Join(f[1:], " "))
			}
			select {
			case <-time.After(time.Duration(secs * float64(time.Second))):
			case <-ctx.Done():
				return 143, nil
			}
		case "echo":
			if _, err := fmt.Fprintln(out, strings.Join(f[1:], " ")); err != nil {
				return 0, err
			}
		case "exit":
			code, err := strconv.Atoi(strings.Join(f[1:], ""))
			if err != nil {
				return 0, fmt.Errorf("hollow host: exit wants a code, got %q", strings.Join(f[1:], " "))
			}
			return code, nil
		case "true":
		case "false":
			return 1, nil
		default:
			return 0, fmt.Errorf("hollow host cannot run %q (it runs sleep, echo, exit, true and false)", strings.TrimSpace(line))
		}
	}
	return 0, nil
}
