package shim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// Errors mapped onto HTTP statuses by the handlers.
var (
	ErrNotFound = errors.New("task not found")                    // 404
	ErrConflict = errors.New("request conflicts with task state") // 409
)

// transitionAllowed is the task state machine (as upstream):
//
//	pending -> preparing -> pulling -> creating -> running -> terminated
//	   |          |            |           |          ^ |
//	   |          |            |           |          +-+ (ports update)
//	   +----------+------------+-----------+-------------> terminated
//
// terminated -> terminated is allowed because the server always terminates,
// even finished tasks; the first termination reason is kept.
func transitionAllowed(from, to schemas.TaskStatus) bool {
	switch to {
	case schemas.TaskStatusPreparing:
		return from == schemas.TaskStatusPending
	case schemas.TaskStatusPulling:
		return from == schemas.TaskStatusPreparing
	case schemas.TaskStatusCreating:
		return from == schemas.TaskStatusPulling
	case schemas.TaskStatusRunning:
		return from == schemas.TaskStatusCreating || from == schemas.TaskStatusRunning
	case schemas.TaskStatusTerminated:
		return true
	}
	return false
}

// task is the shim's record of one job. Fields are guarded by taskStore.mu;
// opMu serializes terminate and remove.
type task struct {
	status     schemas.TaskStatus
	reason     string
	message    string
	ports      []schemas.PortMapping
	progress   *schemas.ImagePullProgress
	cancelPull context.CancelFunc
	name       string // unique container name
	dir        string // per-task dir on the host
	handle     string // executor handle: container id or pid
	gpuIDs     []string
	opMu       sync.Mutex
}

// taskStore holds the tasks by id.
type taskStore struct {
	mu    sync.RWMutex
	tasks map[string]*task
}

func newTaskStore() *taskStore { return &taskStore{tasks: map[string]*task{}} }

func (s *taskStore) add(id string, t *task) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[id]; ok {
		return fmt.Errorf("%w: task %s is already submitted", ErrConflict, id)
	}
	s.tasks[id] = t
	return nil
}

func (s *taskStore) lookup(id string) (*task, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return t, nil
}

func (s *taskStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
}

// transition moves a task to status `to`, letting apply set fields in the
// same critical section. Terminating keeps an earlier reason and message.
func (s *taskStore) transition(id string, to schemas.TaskStatus, apply func(*task)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if !transitionAllowed(t.status, to) {
		return fmt.Errorf("%w: %s -> %s transition not allowed", ErrConflict, t.status, to)
	}
	reason, message := t.reason, t.message
	wasTerminated := t.status == schemas.TaskStatusTerminated
	t.status = to
	if apply != nil {
		apply(t)
	}
	if wasTerminated && reason != "" {
		t.reason, t.message = reason, message
	}
	if to != schemas.TaskStatusPulling {
		t.cancelPull = nil
	}
	return nil
}

// terminate is transition(terminated) with a reason and message.
func (s *taskStore) terminate(id string, reason schemas.TerminationReason, message string) error {
	return s.transition(id, schemas.TaskStatusTerminated, func(t *task) {
		t.reason, t.message = string(reason), message
	})
}

// update changes fields of a task without a status transition.
func (s *taskStore) update(id string, apply func(*task)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tasks[id]; ok {
		apply(t)
	}
}

func (s *taskStore) setProgress(id string, p schemas.ImagePullProgress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tasks[id]; ok {
		t.progress = &p
	}
}

// info snapshots a task as the API reports it.
func (s *taskStore) info(id string) (schemas.TaskInfoResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tasks[id]
	if !ok {
		return schemas.TaskInfoResponse{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return schemas.TaskInfoResponse{
		ID: id, Status: t.status, TerminationReason: t.reason, TerminationMessage: t.message,
		Ports: t.ports, ImagePullProgress: t.progress, ContainerName: t.name,
		ContainerID: t.handle, GpuIDs: t.gpuIDs,
	}, nil
}

func (s *taskStore) list() []schemas.TaskListItem {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]schemas.TaskListItem, 0, len(s.tasks))
	for id, t := range s.tasks {
		out = append(out, schemas.TaskListItem{ID: id, Status: t.status})
	}
	return out
}

// uniqueName returns "<name>-<8 hex>" derived from (name, id), like upstream's
// container names.
func uniqueName(name, id string) string {
	return fmt.Sprintf("%s-%x", name, sha256.Sum256([]byte(name+"/"+id)))[:len(name)+9]
}
