package shim

import (
	"context"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// TaskSpec is what an executor needs to run a task.
type TaskSpec struct {
	ID     string
	Config schemas.TaskConfigBody
	// Name is unique per task (container name).
	Name string
	// Dir is the per-task directory on the host; the runner's temp dir lives
	// in Dir/runner.
	Dir string
	// GPUIDs are the GPUs reserved for the task (NVIDIA UUIDs or AMD render
	// node paths).
	GPUIDs []string
}

// Executor runs tasks. The shim drives each task through
// Pull -> Create -> Start -> Wait, and calls Stop and Remove on request;
// executors keep their per-task state keyed by TaskSpec.ID.
type Executor interface {
	// Kind is "docker" or "process".
	Kind() string
	// Pull makes the image available, reporting progress if it downloads.
	Pull(ctx context.Context, spec TaskSpec, progress func(schemas.ImagePullProgress)) error
	// Create prepares the task without starting it; it returns a handle
	// (container id) for diagnostics.
	Create(ctx context.Context, spec TaskSpec) (string, error)
	// Start starts the task and returns its port mappings (empty in host
	// network mode).
	Start(ctx context.Context, id string) ([]schemas.PortMapping, error)
	// Wait blocks until the task exits and returns its exit code.
	Wait(ctx context.Context, id string) (int, error)
	// Stop asks the task to stop and kills it after timeout.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// LastLogs returns up to n last lines of the task's output.
	LastLogs(ctx context.Context, id string, n int) []string
	// Remove destroys what Create made; unknown ids are not an error.
	Remove(ctx context.Context, id string) error
}
