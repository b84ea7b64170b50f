package shim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dstackgo/dstack/backends/agent/hostinfo"
)

// Server is a shim. Create it with New and serve with Run.
type Server struct {
	cfg   Config
	log   *slog.Logger
	exec  Executor
	facts hostinfo.Facts
	tasks *taskStore
	gpus  *gpuLock
	// hostKeys are the tasks' keys in host users' authorized_keys.
	hostKeys *hostKeys

	bgCtx    context.Context // parent of task goroutines; cancelled by Run's end
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	shutdownOnce sync.Once
	shutdownCh   chan bool // value: force

	addrMu sync.Mutex
	addr   net.Addr
}

// New detects the host, picks the executor and writes host_info.json into
// HomeDir. Nothing listens until Run.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := logger.With("component", "shim")
	if err := os.MkdirAll(cfg.HomeDir, 0o755); err != nil {
		return nil, fmt.Errorf("create home dir: %w", err)
	}
	facts := hostinfo.Detect(context.Background(), cfg.HomeDir)
	ex, err := newExecutor(cfg, facts, log)
	if err != nil {
		return nil, err
	}
	if err := hostinfo.WriteFile(cfg.HomeDir, facts.Info(ex.Kind())); err != nil {
		return nil, fmt.Errorf("write host info: %w", err)
	}
	return newServer(cfg, facts, ex, log)
}

// NewWith returns a shim of a host described by facts whose tasks ex runs
// (the scale tests' hollow hosts); it detects nothing and writes no host
// info. Nothing listens until Serve.
func NewWith(cfg Config, facts hostinfo.Facts, ex Executor, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.HomeDir, 0o755); err != nil {
		return nil, fmt.Errorf("create home dir: %w", err)
	}
	return newServer(cfg, facts, ex, logger.With("component", "shim"))
}

func newServer(cfg Config, facts hostinfo.Facts, ex Executor, log *slog.Logger) (*Server, error) {
	ids := make([]string, 0, len(facts.GPUs))
	for _, g := range facts.GPUs {
		ids = append(ids, g.ID+g.RenderNode)
	}
	bgCtx, bgCancel := context.WithCancel(context.Background())
	log.Info("shim configured", "executor", ex.Kind(), "home", cfg.HomeDir, "gpus", len(facts.GPUs),
		"runner_binary", cfg.RunnerBinary)
	s := &Server{
		cfg: cfg, log: log, exec: ex, facts: facts, tasks: newTaskStore(), gpus: newGPULock(ids),
		hostKeys: &hostKeys{state: filepath.Join(cfg.HomeDir, "host_ssh_keys.json"), lookup: cfg.LookupUser},
		bgCtx:    bgCtx, bgCancel: bgCancel, shutdownCh: make(chan bool, 1),
	}
	if r, ok := ex.(restorer); ok {
		restored, err := r.Restore(context.Background())
		if err != nil {
			bgCancel()
			return nil, fmt.Errorf("restore tasks: %w", err)
		}
		s.adopt(restored)
	}
	return s, nil
}

// newExecutor resolves Config.Executor ("auto" probes the Docker socket).
func newExecutor(cfg Config, facts hostinfo.Facts, log *slog.Logger) (Executor, error) {
	switch cfg.Executor {
	case ExecutorDocker:
		return newDockerExecutor(cfg, facts, log)
	case ExecutorProcess:
		return newProcessExecutor(cfg, log), nil
	case ExecutorAuto:
		if ex, err := newDockerExecutor(cfg, facts, log); err == nil {
			return ex, nil
		} else {
			log.Info("docker is not available, using the process executor", "err", err)
		}
		return newProcessExecutor(cfg, log), nil
	}
	return nil, fmt.Errorf("unknown executor %q", cfg.Executor)
}

// ExecutorKind returns "docker" or "process".
func (s *Server) ExecutorKind() string { return s.exec.Kind() }

// Addr returns the bound address, or nil before Run has bound it.
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Run serves the API until ctx is cancelled or POST /api/shutdown. Running
// containers are left alone (as upstream); process-executor runners are
// stopped because they cannot be re-adopted.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.HTTPAddress, portString(s.cfg.HTTPPort)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller made; it closes ln when it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.addrMu.Lock()
	s.addr = ln.Addr()
	s.addrMu.Unlock()
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("shim listening", "addr", ln.Addr().String(), "version", s.cfg.Version)

	force := false
	select {
	case <-ctx.Done():
	case force = <-s.shutdownCh:
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			s.bgCancel()
			return fmt.Errorf("serve: %w", err)
		}
	}
	if force {
		_ = srv.Close()
	} else {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(shutdownCtx)
		cancel()
	}
	s.bgCancel()
	if c, ok := s.exec.(interface{ Close(context.Context) }); ok {
		c.Close(context.Background())
	}
	s.bg.Wait()
	s.log.Info("shim stopped", "force", force)
	return nil
}

// requestShutdown makes Run return (once).
func (s *Server) requestShutdown(force bool) {
	s.shutdownOnce.Do(func() { s.shutdownCh <- force })
}

func portString(p int) string {
	if p < 0 {
		p = 0
	}
	return fmt.Sprint(p)
}
