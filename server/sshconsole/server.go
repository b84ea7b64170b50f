package sshconsole

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

// Config configures the console's SSH server.
type Config struct {
	// Addr is the listen address, e.g. ":3022" or "127.0.0.1:0".
	Addr string
	// HostKeyPath is the server's ed25519 host key, generated on first
	// start and reused after, so clients' known_hosts stay valid.
	HostKeyPath string
	// Authenticate maps a client's public key to the dstack user who
	// registered it and that user's API token; an error refuses the key.
	Authenticate func(ctx context.Context, key gossh.PublicKey) (username, token string, err error)
	// APIURL is the dstack server's HTTP API the sessions talk to.
	APIURL string
	// Logger receives connection, refusal and session logs (nil discards).
	Logger *slog.Logger
	// HandshakeTimeout bounds the time from connecting to a session
	// (the SSH handshake, the login, opening the session); 30 s when zero.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection with no traffic for that long;
	// 30 minutes when zero.
	IdleTimeout time.Duration
}

// Server is the console's SSH server. New binds the address, so a busy
// port fails at startup; Run serves until its context ends.
type Server struct {
	cfg Config
	log *slog.Logger
	srv *ssh.Server
	ln  net.Listener

	mu       sync.Mutex
	programs map[*tea.Program]struct{}
	sessions int
}

// authTimeout bounds one Authenticate call.
const authTimeout = 10 * time.Second

// New builds the server, creating the host key if needed, and binds Addr.
func New(cfg Config) (*Server, error) {
	if cfg.Authenticate == nil || cfg.APIURL == "" || cfg.HostKeyPath == "" {
		return nil, errors.New("console ssh: Authenticate, APIURL and HostKeyPath are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "console.ssh"), programs: map[*tea.Program]struct{}{}}
	if err := os.MkdirAll(filepath.Dir(cfg.HostKeyPath), 0o700); err != nil {
		return nil, fmt.Errorf("create the console host key directory: %w", err)
	}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKeyPath),
		wish.WithPublicKeyAuth(s.publicKey),
		wish.WithKeyboardInteractiveAuth(s.refuse),
		// The last middleware runs first.
		wish.WithMiddleware(bm.MiddlewareWithProgramHandler(s.program, termenv.Ascii), requirePTY, s.logSession, handshakeDone),
	)
	if err != nil {
		return nil, fmt.Errorf("set up the console ssh server (host key %s): %w", cfg.HostKeyPath, err)
	}
	srv.IdleTimeout = cfg.IdleTimeout
	if srv.IdleTimeout <= 0 {
		srv.IdleTimeout = 30 * time.Minute
	}
	handshake := cfg.HandshakeTimeout
	if handshake <= 0 {
		handshake = 30 * time.Second
	}
	srv.ConnCallback = func(ctx ssh.Context, c net.Conn) net.Conn {
		hc := &handshakeConn{Conn: c, until: time.Now().Add(handshake)}
		_ = hc.SetDeadline(time.Time{})
		ctx.SetValue(handshakeConnKey{}, hc)
		return hc
	}
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		s.log.Info("console ssh connection failed", "remote", c.RemoteAddr().String(), "err", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for console ssh on %s: %w", cfg.Addr, err)
	}
	s.srv, s.ln = srv, ln
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is cancelled, then quits every console (restoring
// the clients' terminals), waits a little for the sessions to end and
// closes the connections.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("console ssh listening", "addr", s.ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve console ssh: %w", err)
	case <-ctx.Done():
	}
	s.mu.Lock()
	for p := range s.programs {
		p.Quit()
	}
	s.mu.Unlock()
	for deadline := time.Now().Add(3 * time.Second); s.activeSessions() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.log.Info("console ssh sessions did not end in time; closing them", "sessions", s.activeSessions())
			break
		}
	}
	_ = s.srv.Close()
	<-errc
	return nil
}

func (s *Server) track(p *tea.Program, done <-chan struct{}) {
	s.mu.Lock()
	s.programs[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-done
		s.mu.Lock()
		delete(s.programs, p)
		s.mu.Unlock()
	}()
}

func (s *Server) addSession(d int) {
	s.mu.Lock()
	s.sessions += d
	s.mu.Unlock()
}

func (s *Server) activeSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// requirePTY ends sessions without a terminal with a one-line reason.
func requirePTY(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			fmt.Fprintln(sess.Stderr(), "dstack console needs a terminal: connect with `ssh -t`.")
			_ = sess.Exit(1)
			return
		}
		next(sess)
	}
}

// logSession logs each session's start and end.
func (s *Server) logSession(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.addSession(1)
		defer s.addSession(-1)
		start := time.Now()
		log := s.log.With("remote", sess.RemoteAddr().String(), "ssh_user", sess.User())
		if a, ok := s.account(sess); ok {
			log = log.With("user", a.username)
		}
		log.Info("console session started")
		next(sess)
		log.Info("console session ended", "duration", time.Since(start).Round(time.Second))
	}
}
