package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// The built-in SSH server is what `dstack attach` and the official CLI's
// `dstack apply` reach when the job has no OpenSSH of its own: an image
// without sshd, or a job run as a plain process by a shim that is not root.
// It accepts the job's authorized keys for any user name, and serves shells
// and commands (with or without a terminal, in the job's environment), SFTP
// and local port forwarding (ssh -L, ProxyJump), which is how the CLI
// reaches the runner's /logs_ws and the job's ports.

// sessionEnv is what SSH sessions run with once the job has started.
type sessionEnv struct {
	mu   sync.Mutex
	vars []string
	dir  string
	cred *syscall.Credential
}

func (e *sessionEnv) set(vars []string, dir string, cred *syscall.Credential) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vars, e.dir, e.cred = vars, dir, cred
}

func (e *sessionEnv) get() (vars []string, dir string, cred *syscall.Credential) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.vars, e.dir, e.cred
}

// startBuiltinSSH serves SSH on cfg.SSHPort; the returned func stops it.
func (s *Server) startBuiltinSSH() (func(), error) {
	var keys []gossh.PublicKey
	for _, k := range s.cfg.SSHAuthorizedKeys {
		if strings.TrimSpace(k) == "" {
			continue
		}
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			s.note(slog.LevelWarn, "ignoring an authorized key that does not parse", "err", err)
			continue
		}
		keys = append(keys, pk)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	srv := &ssh.Server{
		Handler: s.sshSession,
		PublicKeyHandler: func(_ ssh.Context, key ssh.PublicKey) bool {
			for _, k := range keys {
				if ssh.KeysEqual(k, key) {
					return true
				}
			}
			return false
		},
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session":      ssh.DefaultSessionHandler,
			"direct-tcpip": s.sshForward,
		},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{"sftp": s.sshSFTP},
	}
	srv.AddHostKey(signer)
	if err := ssh.AllocatePty()(srv); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.sshListenHost(), strconv.Itoa(s.cfg.SSHPort)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	go func() { _ = srv.Serve(ln) }()
	s.setWidenSSH(func(ip string) error {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(s.cfg.SSHPort)))
		if err != nil {
			return err
		}
		go func() { _ = srv.Serve(ln) }()
		return nil
	})
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}, nil
}

// sshListenHost keeps the SSH server where the HTTP API is: a runner bound
// to loopback (the process executor) is reached through the host's sshd.
func (s *Server) sshListenHost() string {
	if ip := net.ParseIP(s.cfg.HTTPAddress); ip != nil && ip.IsLoopback() {
		return s.cfg.HTTPAddress
	}
	return ""
}

// sshCommand builds the process of a session: its command through the
// shell, or an interactive login shell.
func (s *Server) sshCommand(sess ssh.Session, tty bool) *exec.Cmd {
	vars, dir, cred := s.session.get()
	if vars == nil {
		vars = os.Environ()
	}
	if dir == "" {
		dir = s.cfg.WorkDir
	}
	shell := s.shell()
	var cmd *exec.Cmd
	if raw := sess.RawCommand(); raw != "" {
		cmd = exec.Command(shell, "-c", raw)
	} else {
		cmd = exec.Command(shell, "-l")
		if !tty {
			cmd = exec.Command(shell)
		}
	}
	cmd.Env = append(append([]string{}, vars...), sess.Environ()...)
	if dir != "" {
		if _, err := os.Stat(dir); err == nil {
			cmd.Dir = dir
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	return cmd
}

func (s *Server) sshSession(sess ssh.Session) {
	pty, _, tty := sess.Pty()
	cmd := s.sshCommand(sess, tty)
	copied := make(chan struct{})
	if tty {
		cmd.Env = append(cmd.Env, "TERM="+pty.Term)
		cmd.SysProcAttr.Setctty = true
		if err := pty.Start(cmd); err != nil {
			fmt.Fprintf(sess.Stderr(), "dstack: cannot start %s: %v\n", cmd.Path, err)
			_ = sess.Exit(127)
			return
		}
		// The parent keeps only the master: the output copy ends when the
		// last process holding the terminal exits.
		_ = pty.Slave.Close()
		go func() { _, _ = io.Copy(pty.Master, sess) }()
		go func() {
			defer close(copied)
			_, _ = io.Copy(sess, pty.Master)
		}()
	} else {
		close(copied)
		cmd.Stdout, cmd.Stderr = sess, sess.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			_ = sess.Exit(127)
			return
		}
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(sess.Stderr(), "dstack: cannot start %s: %v\n", cmd.Path, err)
			_ = sess.Exit(127)
			return
		}
		go func() {
			_, _ = io.Copy(stdin, sess)
			_ = stdin.Close()
		}()
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-sess.Context().Done(): // the client went away
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGHUP)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	select {
	case <-copied:
	case <-time.After(time.Second): // a background process holds the terminal
	}
	_ = sess.Exit(exitCode(err))
}

// exitCode is the status to report for a finished session command.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 255
}

func (s *Server) sshSFTP(sess ssh.Session) {
	_, dir, _ := s.session.get()
	opts := []sftp.ServerOption{}
	if dir != "" {
		opts = append(opts, sftp.WithServerWorkingDirectory(dir))
	}
	srv, err := sftp.NewServer(sess, opts...)
	if err != nil {
		_ = sess.Exit(1)
		return
	}
	defer srv.Close()
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		_ = sess.Exit(1)
		return
	}
	_ = sess.Exit(0)
}

// forwardData is the payload of a direct-tcpip channel request (RFC 4254 7.2).
type forwardData struct {
	DestAddr   string
	DestPort   uint32
	OriginAddr string
	OriginPort uint32
}

// sshForward serves ssh -L and ProxyJump. Where the runner does not listen
// on its well-known ports (the process executor picks free ones when 10999
// or 10022 are taken), localhost:10999 and localhost:10022 lead to the
// ports it does listen on, as they would inside a container.
func (s *Server) sshForward(_ *ssh.Server, _ *gossh.ServerConn, ch gossh.NewChannel, ctx ssh.Context) {
	var d forwardData
	if err := gossh.Unmarshal(ch.ExtraData(), &d); err != nil {
		_ = ch.Reject(gossh.ConnectionFailed, "malformed forward request: "+err.Error())
		return
	}
	port := int(d.DestPort)
	if isLocalName(d.DestAddr) {
		switch port {
		case DefaultHTTPPort:
			port = s.httpPort()
		case DefaultSSHPort:
			port = s.cfg.SSHPort
		}
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(d.DestAddr, strconv.Itoa(port)))
	if err != nil {
		_ = ch.Reject(gossh.ConnectionFailed, err.Error())
		return
	}
	c, reqs, err := ch.Accept()
	if err != nil {
		_ = conn.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	go func() {
		defer c.Close()
		defer conn.Close()
		_, _ = io.Copy(c, conn)
	}()
	go func() {
		defer c.Close()
		defer conn.Close()
		_, _ = io.Copy(conn, c)
	}()
}

func isLocalName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpPort is the port the API listens on.
func (s *Server) httpPort() int {
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return s.cfg.HTTPPort
}
