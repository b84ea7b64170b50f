package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// imagePullTimeout bounds a single image pull.
const imagePullTimeout = 20 * time.Minute

// submit validates and registers a task; run starts it.
func (s *Server) submit(cfg schemas.TaskConfigBody) error {
	switch {
	case cfg.ID == "":
		return fmt.Errorf("%w: empty id", errBadRequest)
	case cfg.Name == "":
		return fmt.Errorf("%w: empty name", errBadRequest)
	case cfg.ImageName == "":
		return fmt.Errorf("%w: empty image_name", errBadRequest)
	}
	if _, err := parseHostKeys(cfg.HostSSHKeys); err != nil {
		return err
	}
	if cfg.ContainerUser == "" {
		cfg.ContainerUser = "root"
	}
	if cfg.NetworkMode == "" {
		cfg.NetworkMode = schemas.NetworkModeHost
	}
	name := uniqueName(cfg.Name, cfg.ID)
	t := &task{status: schemas.TaskStatusPending, name: name, dir: filepath.Join(s.cfg.HomeDir, "runners", name)}
	if err := s.tasks.add(cfg.ID, t); err != nil {
		return err
	}
	s.log.Info("task submitted", "task", cfg.ID, "name", name, "image", cfg.ImageName)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.runTask(s.bgCtx, cfg, t.dir, name)
	}()
	return nil
}

// runTask drives a task from pending to running and records how it ended.
func (s *Server) runTask(ctx context.Context, cfg schemas.TaskConfigBody, dir, name string) {
	id := cfg.ID
	fail := func(reason schemas.TerminationReason, err error) {
		s.log.Error("task failed", "task", id, "reason", reason, "err", err)
		_ = s.tasks.terminate(id, reason, err.Error())
	}
	if s.tasks.transition(id, schemas.TaskStatusPreparing, nil) != nil {
		return
	}
	spec, release, err := s.prepare(cfg, dir, name)
	if err != nil {
		fail(schemas.TerminationReasonExecutorError, err)
		return
	}
	defer release()
	pullCtx, cancelPull := context.WithTimeout(ctx, imagePullTimeout)
	defer cancelPull()
	if s.tasks.transition(id, schemas.TaskStatusPulling, func(t *task) { t.cancelPull = cancelPull }) != nil {
		return
	}
	progress := func(p schemas.ImagePullProgress) { s.tasks.setProgress(id, p) }
	if err := s.exec.Pull(pullCtx, spec, progress); err != nil {
		fail(schemas.TerminationReasonCreatingContainerError, fmt.Errorf("pull image: %w", err))
		return
	}
	if s.tasks.transition(id, schemas.TaskStatusCreating, nil) != nil {
		return
	}
	handle, err := s.exec.Create(ctx, spec)
	if err != nil {
		fail(schemas.TerminationReasonCreatingContainerError, fmt.Errorf("create: %w", err))
		return
	}
	s.tasks.update(id, func(t *task) { t.handle = handle })
	if s.tasks.transition(id, schemas.TaskStatusRunning, nil) != nil {
		return
	}
	s.startAndWait(ctx, id)
}

// prepare creates the task dir, reserves GPUs and installs host SSH keys;
// release undoes the last two.
func (s *Server) prepare(cfg schemas.TaskConfigBody, dir, name string) (TaskSpec, func(), error) {
	spec := TaskSpec{ID: cfg.ID, Config: cfg, Name: name, Dir: dir, GPUIDs: []string{}}
	if err := os.MkdirAll(filepath.Join(dir, "runner"), 0o755); err != nil {
		return spec, nil, fmt.Errorf("create task dir: %w", err)
	}
	if cfg.GPU != 0 && len(cfg.GPUDevices) == 0 {
		ids, err := s.gpus.acquire(cfg.GPU)
		if err != nil {
			return spec, nil, err
		}
		spec.GPUIDs = ids
	}
	s.tasks.update(cfg.ID, func(t *task) { t.gpuIDs = spec.GPUIDs })
	keys, err := parseHostKeys(cfg.HostSSHKeys) // checked at submit
	if err == nil {
		err = s.hostKeys.add(cfg.HostSSHUser, cfg.ID, keys)
	}
	if err != nil {
		s.gpus.release(spec.GPUIDs)
		return spec, nil, fmt.Errorf("add host ssh keys: %w", err)
	}
	release := func() {
		s.gpus.release(spec.GPUIDs)
		if s.bgCtx.Err() == nil { // a shim stopping leaves running tasks (and their keys) be
			s.releaseHostKeys(cfg.ID)
		}
	}
	return spec, release, nil
}

// releaseHostKeys removes the keys only this task needed from the host
// user's authorized_keys.
func (s *Server) releaseHostKeys(id string) {
	if err := s.hostKeys.release(id); err != nil {
		s.log.Warn("cannot remove host ssh keys", "task", id, "err", err)
	}
}

// startAndWait starts a created task, publishes its ports and waits for it.
func (s *Server) startAndWait(ctx context.Context, id string) {
	ports, err := s.exec.Start(ctx, id)
	if err == nil {
		err = s.tasks.transition(id, schemas.TaskStatusRunning, func(t *task) { t.ports = ports })
		if errors.Is(err, ErrConflict) { // terminated while starting
			_ = s.exec.Stop(ctx, id, 0)
			return
		}
	}
	if err != nil {
		s.finish(id, 0, err)
		return
	}
	s.log.Info("task running", "task", id, "ports", ports)
	s.waitTask(ctx, id)
}

// waitTask waits for a running task and records how it ended.
func (s *Server) waitTask(ctx context.Context, id string) {
	code, err := s.exec.Wait(ctx, id)
	if ctx.Err() != nil {
		return // the shim is shutting down; the task itself goes on
	}
	s.finish(id, code, err)
}

// finish marks a task terminated: done_by_runner on exit code 0, else
// container_exited_with_error with the last lines of its output.
func (s *Server) finish(id string, code int, err error) {
	if err == nil && code == 0 {
		s.log.Info("task finished", "task", id)
		_ = s.tasks.terminate(id, schemas.TerminationReasonDoneByRunner, "")
		return
	}
	if err == nil {
		err = fmt.Errorf("exited with code %d", code)
	}
	msg := strings.Join(s.exec.LastLogs(context.Background(), id, 5), "\n")
	s.log.Error("task exited with error", "task", id, "err", err, "last_logs", msg)
	if msg == "" {
		msg = err.Error()
	}
	_ = s.tasks.terminate(id, schemas.TerminationReasonContainerExitedWithError, msg)
}

// terminateTask aborts a pull or stops a running task, then marks it terminated.
func (s *Server) terminateTask(ctx context.Context, id string, req schemas.TaskTerminateRequest) error {
	t, err := s.tasks.lookup(id)
	if err != nil {
		return err
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	info, err := s.tasks.info(id)
	if err != nil {
		return err
	}
	if info.Status == schemas.TaskStatusPulling {
		s.tasks.update(id, func(t *task) {
			if t.cancelPull != nil {
				t.cancelPull()
			}
		})
	}
	// Recorded before stopping, so that the exit the stop causes does not
	// replace the requested reason (the first reason is kept).
	if err := s.tasks.terminate(id, schemas.TerminationReason(req.TerminationReason), req.TerminationMessage); err != nil {
		return err
	}
	if info.Status == schemas.TaskStatusRunning {
		// Not bound to the request: the client may give up before the grace ends.
		timeout := time.Duration(req.Timeout) * time.Second
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+time.Minute)
		defer cancel()
		if err := s.exec.Stop(ctx, id, timeout); err != nil {
			return fmt.Errorf("stop task: %w", err)
		}
	}
	return nil
}

// removeTask destroys a terminated task's container and files and forgets it.
func (s *Server) removeTask(ctx context.Context, id string) error {
	t, err := s.tasks.lookup(id)
	if err != nil {
		return err
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	info, err := s.tasks.info(id)
	if err != nil {
		return err
	}
	if info.Status != schemas.TaskStatusTerminated {
		return fmt.Errorf("%w: cannot remove task with %s status", ErrConflict, info.Status)
	}
	if err := s.exec.Remove(ctx, id); err != nil {
		return fmt.Errorf("remove task: %w", err)
	}
	dir := t.dir // immutable after submit
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("cannot remove task dir", "task", id, "dir", dir, "err", err)
	}
	s.tasks.remove(id)
	return nil
}
