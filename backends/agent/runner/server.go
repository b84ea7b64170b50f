package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// Server is a runner serving one job. Create it with New and start it with Run.
type Server struct {
	cfg        Config
	log        *slog.Logger
	clock      *clock
	jobLogs    *logBuffer
	runnerLogs *logBuffer
	conns      *connTracker
	session    sessionEnv // what SSH sessions into the job run with

	mu        sync.Mutex
	phase     phase
	jobState  schemas.JobState
	states    []schemas.JobStateEvent
	job       *schemas.SubmitBody
	codePath  string
	cancelJob context.CancelFunc
	jobPID    atomic.Int64 // the job's process while it runs (0: none)

	started     chan struct{} // closed by /api/run (or stop)
	finished    chan struct{} // closed when no more job output will be produced
	pulledFinal chan struct{} // closed when a pull has returned the final state
	finalOnce   sync.Once
	wsActive    atomic.Int64 // open /logs_ws streams

	addrMu sync.Mutex
	addr   net.Addr

	sshMu    sync.Mutex
	widenSSH func(ip string) error // adds a listen address to the job's SSH server
}

// New returns a runner; nothing is started until Run.
func New(cfg Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	c := &clock{}
	return &Server{
		cfg:         cfg,
		log:         logger.With("component", "runner"),
		clock:       c,
		jobLogs:     newLogBuffer(c, cfg.LogBufferBytes),
		runnerLogs:  newLogBuffer(c, cfg.LogBufferBytes),
		conns:       newConnTracker(cfg.SSHPort),
		phase:       phaseWaitSubmit,
		jobState:    jobSubmitted,
		started:     make(chan struct{}),
		finished:    make(chan struct{}),
		pulledFinal: make(chan struct{}),
	}
}

// Addr returns the address the HTTP server listens on, or nil before Run has
// bound it.
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Run serves the API until the job has finished and its final state has been
// pulled (or LogsWaitTimeout passed). Cancelling ctx stops the job and shuts
// the server down cleanly (nil error). It fails if no job starts within
// SubmitTimeout.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.listenAddr())
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller made (HTTPAddress and HTTPPort are
// not used); it closes ln when it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.addrMu.Lock()
	s.addr = ln.Addr()
	s.addrMu.Unlock()
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("runner listening", "addr", ln.Addr().String(), "version", s.cfg.Version)

	stopSSHD := s.startSSHD(ctx)
	defer stopSSHD()
	runErr := s.lifecycle(ctx, serveErr)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	s.log.Info("runner stopped", "err", runErr)
	return runErr
}

// lifecycle waits for the job to start, finish and be pulled.
func (s *Server) lifecycle(ctx context.Context, serveErr <-chan error) error {
	timer := time.NewTimer(s.cfg.SubmitTimeout)
	defer timer.Stop()
	select {
	case <-s.started:
	case <-timer.C:
		return errors.New("no job started within the submit timeout")
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.stop()
		<-s.finished
		return nil
	}
	select {
	case <-s.finished:
	case err := <-serveErr:
		s.stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.stop()
		<-s.finished
		return nil
	}
	s.waitLogsDelivered(ctx)
	return nil
}

// waitLogsDelivered waits until the final state has been pulled and the open
// WebSocket streams have drained, bounded by LogsWaitTimeout and ctx.
func (s *Server) waitLogsDelivered(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		select {
		case <-s.pulledFinal:
		case <-ctx.Done():
		}
		for s.wsActive.Load() > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		close(done)
	}()
	timer := time.NewTimer(s.cfg.LogsWaitTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.log.Warn("final state was not pulled in time")
	}
}

// stop cancels a running job, or finishes a job that never started.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case phaseServeLogs:
		if s.cancelJob != nil {
			s.cancelJob()
		}
	case phaseWaitSubmit, phaseWaitRun:
		if s.job != nil {
			_ = s.setJobState(jobResult{State: schemas.JobStateTerminated, Message: "stopped before start"})
		}
		s.phase = phaseWaitLogsFinished
		close(s.started)
		close(s.finished)
	}
}

// note logs a runner event both to slog and to the runner_logs buffer that the
// server pulls for `dstack logs --diagnose`.
func (s *Server) note(level slog.Level, msg string, args ...any) {
	s.log.Log(context.Background(), level, msg, args...)
	line := time.Now().UTC().Format(time.RFC3339) + " " + level.String() + " " + msg
	for i := 0; i+1 < len(args); i += 2 {
		line += fmt.Sprintf(" %v=%v", args[i], args[i+1])
	}
	_, _ = s.runnerLogs.Write([]byte(line + "\n"))
}
