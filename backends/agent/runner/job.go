package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// startJob moves the runner into serveLogs, resolves the job user and working
// dir and launches the job. ok is false when the runner is not waiting for
// /api/run; err reports a job that failed before starting.
func (s *Server) startJob() (info *schemas.JobInfoResponse, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseWaitRun {
		return nil, false, errors.New("no job submitted or job already started")
	}
	s.phase = phaseServeLogs
	close(s.started)
	env, err := s.prepareJob(s.job)
	if err != nil {
		s.note(slog.LevelError, "cannot prepare job", "err", err)
		_ = s.setJobState(jobResult{
			State:   schemas.JobStateFailed,
			Reason:  schemas.TerminationReasonExecutorError,
			Message: err.Error(),
		})
		s.phase = phaseWaitLogsFinished
		close(s.finished)
		return nil, true, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancelJob = cancel
	go s.runJob(ctx, s.job, env, s.codePath)
	return &schemas.JobInfoResponse{WorkingDir: env.WorkDir, Username: env.Username}, true, nil
}

// runJob sets up the repo and files, runs the commands and records the result.
func (s *Server) runJob(ctx context.Context, job *schemas.SubmitBody, env *jobEnv, codePath string) {
	defer func() {
		s.mu.Lock()
		s.phase = phaseWaitLogsFinished
		s.cancelJob()
		s.mu.Unlock()
		close(s.finished)
	}()
	if err := s.setupClusterSSH(job, env); err != nil {
		s.note(slog.LevelWarn, "cannot set up cluster SSH", "err", err)
	} else if ips := job.ClusterInfo.JobIPs; len(ips) > 1 && job.JobSpec.JobNum < len(ips) {
		s.listenSSHOn(ips[job.JobSpec.JobNum])
	}
	if err := s.setupRepo(job, env, codePath); err != nil {
		s.note(slog.LevelError, "cannot set up the repo", "err", err)
		s.record(jobResult{
			State:   schemas.JobStateFailed,
			Reason:  schemas.TerminationReasonContainerExitedWithError,
			Message: fmt.Sprintf("Failed to set up the repo (%s)", err),
		})
		return
	}
	if err := s.setupFiles(job, env); err != nil {
		s.note(slog.LevelError, "cannot set up files", "err", err)
		s.record(jobResult{
			State:   schemas.JobStateFailed,
			Reason:  schemas.TerminationReasonExecutorError,
			Message: fmt.Sprintf("Failed to set up files (%s)", err),
		})
		return
	}
	if ctx.Err() != nil {
		s.record(jobResult{State: schemas.JobStateTerminated})
		return
	}
	s.record(jobResult{State: schemas.JobStateRunning})
	stopTracking := s.conns.Track()
	defer stopTracking()
	s.record(s.execute(ctx, job, env))
}

// record applies a job state transition under the lock.
func (s *Server) record(r jobResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setJobState(r); err != nil {
		s.log.Error("job state", "err", err)
	}
}
