package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// outputDrain is how long output is still read after the main process exited.
const outputDrain = 2 * time.Second

// process is a started job process with its combined output stream.
type process struct {
	cmd *exec.Cmd
	out *os.File
}

// signalGroup signals the job's whole process group.
func (p *process) signalGroup(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// commandArgv returns the argv to execute. The server sends an argv
// ([shell, "-i", "-c", script] or an image entrypoint); when the first element
// is not an executable, the commands are treated as shell lines, joined with
// " && " and run by the configured shell.
func (s *Server) commandArgv(commands []string) []string {
	if len(commands) == 0 {
		return nil
	}
	if _, err := exec.LookPath(commands[0]); err == nil {
		return commands
	}
	return []string{s.shell(), "-c", strings.Join(commands, " && ")}
}

func (s *Server) shell() string {
	if s.cfg.Shell != "" {
		return s.cfg.Shell
	}
	if _, err := os.Stat("/bin/bash"); err == nil {
		return "/bin/bash"
	}
	return "/bin/sh"
}

// startProcess starts cmd in its own session on a pseudo-terminal (so that
// programs line-buffer their output), falling back to a pipe.
func startProcess(cmd *exec.Cmd, cred *syscall.Credential) (*process, error) {
	attr := jobProcAttr(cred)
	master, slave, err := openPTY()
	if err == nil {
		attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		if cred != nil {
			_ = os.Chown(slave.Name(), int(cred.Uid), -1)
		}
	} else {
		var w *os.File
		if master, w, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("create output pipe: %w", err)
		}
		slave = w
		attr.Setpgid = true
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.SysProcAttr = attr
	err = cmd.Start()
	_ = slave.Close()
	if err != nil {
		_ = master.Close()
		return nil, fmt.Errorf("start command: %w", err)
	}
	return &process{cmd: cmd, out: master}, nil
}

// execute runs the job's commands to completion and maps the outcome onto a
// final job state.
func (s *Server) execute(ctx context.Context, job *schemas.SubmitBody, env *jobEnv) jobResult {
	argv := s.commandArgv(job.JobSpec.Commands)
	if len(argv) == 0 {
		return jobResult{State: schemas.JobStateFailed, Reason: schemas.TerminationReasonExecutorError,
			Message: "no commands to run"}
	}
	if s.cfg.Commands != nil {
		return s.executeWith(ctx, job)
	}
	vars := s.jobEnvironment(job, env, s.repoDir(job, env))
	if err := s.writeMPIHostfile(job.ClusterInfo); err != nil {
		s.note(slog.LevelWarn, "cannot write MPI hostfile", "err", err)
	}
	if err := s.writeProfile(vars); err != nil {
		s.note(slog.LevelWarn, "cannot write profile", "err", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = env.WorkDir, renderEnv(vars)
	s.session.set(cmd.Env, env.WorkDir, env.Cred)
	p, err := startProcess(cmd, env.Cred)
	if err != nil {
		s.note(slog.LevelError, "cannot start job", "err", err)
		return jobResult{State: schemas.JobStateFailed, Reason: schemas.TerminationReasonExecutorError, Message: err.Error()}
	}
	s.note(slog.LevelInfo, "job started", "pid", cmd.Process.Pid, "argv0", argv[0], "work_dir", env.WorkDir)
	s.jobPID.Store(int64(cmd.Process.Pid))
	defer s.jobPID.Store(0)
	quota := newQuotaWriter(s.jobLogs, job.LogQuotaHour)
	logFile := s.openJobLog()
	defer logFile.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(io.MultiWriter(quota, logFile), p.out)
	}()
	cause, waitErr := s.supervise(ctx, p, job.JobSpec.MaxDuration, quota.exceeded)
	select {
	case <-copied:
	case <-time.After(outputDrain):
		_ = p.out.SetReadDeadline(time.Now())
		<-copied
	}
	p.signalGroup(syscall.SIGKILL) // leftovers of the job's process group
	_ = p.out.Close()
	return s.result(cause, waitErr, job.LogQuotaHour)
}

type nopWriteCloser struct{ io.Writer }

// Close implements io.Closer.
func (nopWriteCloser) Close() error { return nil }

// openJobLog opens an append-only job.log under TempDir (a copy of the job's
// output that survives the in-memory buffer), or discards on failure.
func (s *Server) openJobLog() io.WriteCloser {
	f, err := os.OpenFile(filepath.Join(s.cfg.TempDir, "job.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nopWriteCloser{io.Discard}
	}
	return f
}

// stopCause says why the runner ended the process, if it did.
type stopCause int

const (
	causeNone stopCause = iota
	causeStopped
	causeMaxDuration
	causeLogQuota
)

// supervise waits for the process, sending SIGTERM (then SIGKILL after
// KillGrace) to its group on stop or max duration, SIGKILL on log quota.
func (s *Server) supervise(ctx context.Context, p *process, maxDuration int, quota <-chan struct{}) (stopCause, error) {
	waitCh := make(chan error, 1)
	go func() { waitCh <- p.cmd.Wait() }()
	var maxTimer <-chan time.Time
	if maxDuration > 0 {
		t := time.NewTimer(time.Duration(maxDuration) * time.Second)
		defer t.Stop()
		maxTimer = t.C
	}
	cause := causeNone
	var killTimer <-chan time.Time
	done := ctx.Done()
	for {
		select {
		case err := <-waitCh:
			return cause, err
		case <-done:
			cause, done, maxTimer = causeStopped, nil, nil
		case <-maxTimer:
			cause, done, maxTimer = causeMaxDuration, nil, nil
		case <-quota:
			cause, quota = causeLogQuota, nil
			p.signalGroup(syscall.SIGKILL)
			continue
		case <-killTimer:
			p.signalGroup(syscall.SIGKILL)
			killTimer = nil
			continue
		}
		s.note(slog.LevelInfo, "terminating job", "cause", int(cause))
		p.signalGroup(syscall.SIGTERM)
		killTimer = time.After(s.cfg.KillGrace)
	}
}

// result maps how the process ended onto the final job state.
func (s *Server) result(cause stopCause, waitErr error, quota int) jobResult {
	switch cause {
	case causeStopped:
		return jobResult{State: schemas.JobStateTerminated}
	case causeMaxDuration:
		return jobResult{State: schemas.JobStateTerminated, Reason: schemas.TerminationReasonMaxDurationExceeded,
			Message: "Max duration exceeded"}
	case causeLogQuota:
		return jobResult{State: schemas.JobStateFailed, Reason: schemas.TerminationReasonLogQuotaExceeded,
			Message: fmt.Sprintf("Job log output exceeded the hourly quota of %d bytes", quota)}
	}
	if waitErr == nil {
		code := 0
		return jobResult{State: schemas.JobStateDone, ExitStatus: &code}
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return jobResult{State: schemas.JobStateFailed, ExitStatus: &code}
	}
	return jobResult{State: schemas.JobStateFailed, Message: waitErr.Error()}
}

// quotaWriter forwards writes until the hourly byte quota is exceeded.
type quotaWriter struct {
	w        io.Writer
	quota    int
	start    time.Time
	hour     int
	used     int
	exceeded chan struct{}
}

func newQuotaWriter(w io.Writer, quota int) *quotaWriter {
	return &quotaWriter{w: w, quota: quota, start: time.Now(), exceeded: make(chan struct{})}
}

// Write implements io.Writer; past the quota it drops data and signals once.
func (q *quotaWriter) Write(p []byte) (int, error) {
	if q.quota > 0 {
		if h := int(time.Since(q.start).Hours()); h != q.hour {
			q.hour, q.used = h, 0
		}
		if q.used+len(p) > q.quota {
			select {
			case <-q.exceeded:
			default:
				close(q.exceeded)
			}
			return len(p), nil
		}
		q.used += len(p)
	}
	return q.w.Write(p)
}

// executeWith runs the job's commands with Config.Commands, with the same
// log quota and outcome mapping as a process.
func (s *Server) executeWith(ctx context.Context, job *schemas.SubmitBody) jobResult {
	quota := newQuotaWriter(s.jobLogs, job.LogQuotaHour)
	code, err := s.cfg.Commands(ctx, job.JobSpec.Commands, quota)
	switch {
	case ctx.Err() != nil:
		return s.result(causeStopped, nil, job.LogQuotaHour)
	case err != nil:
		return jobResult{State: schemas.JobStateFailed, Reason: schemas.TerminationReasonExecutorError, Message: err.Error()}
	case code != 0:
		return jobResult{State: schemas.JobStateFailed, ExitStatus: &code}
	}
	return jobResult{State: schemas.JobStateDone, ExitStatus: &code}
}
