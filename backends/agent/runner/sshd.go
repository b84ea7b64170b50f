package runner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startSSHD starts the job's SSH server on SSHPort, accepting
// SSHAuthorizedKeys: the image's OpenSSH when the runner is root and the
// image ships one (everything a user's tools expect of sshd), else the
// built-in server (any image, any user). The returned func stops it.
func (s *Server) startSSHD(ctx context.Context) func() {
	noop := func() {}
	if s.cfg.SSHPort <= 0 {
		return noop
	}
	if os.Geteuid() == 0 && !s.cfg.BuiltinSSH {
		if stop, ok := s.startOpenSSH(ctx); ok {
			return stop
		}
	}
	stop, err := s.startBuiltinSSH()
	if err != nil {
		s.note(slog.LevelWarn, "cannot start the SSH server, SSH access is disabled", "err", err)
		return noop
	}
	s.note(slog.LevelInfo, "built-in SSH server started", "port", s.cfg.SSHPort)
	return stop
}

// startOpenSSH starts the image's sshd; ok is false when there is none or
// it cannot start.
func (s *Server) startOpenSSH(ctx context.Context) (func(), bool) {
	bin := lookFirst("/usr/sbin/sshd", "sshd")
	keygen := lookFirst("/usr/bin/ssh-keygen", "ssh-keygen")
	if bin == "" || keygen == "" {
		return nil, false
	}
	o := &openSSH{bin: bin}
	conf, err := s.prepareSSHD(ctx, keygen)
	if err != nil {
		s.note(slog.LevelWarn, "cannot prepare sshd", "err", err)
		return nil, false
	}
	if err := o.start(conf); err != nil {
		s.note(slog.LevelWarn, "cannot start sshd", "err", err)
		return nil, false
	}
	s.note(slog.LevelInfo, "sshd started", "port", s.cfg.SSHPort)
	s.setWidenSSH(func(ip string) error {
		conf, err := s.prepareSSHD(ctx, keygen, ip)
		if err != nil {
			return err
		}
		o.stop()
		return o.start(conf)
	})
	return o.stop, true
}

// openSSH is the image's sshd, restarted when its addresses change.
type openSSH struct {
	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (o *openSSH) start(conf string) error {
	cmd := exec.Command(o.bin, "-D", "-e", "-f", conf)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	o.mu.Lock()
	o.cmd, o.exited = cmd, exited
	o.mu.Unlock()
	return nil
}

func (o *openSSH) stop() {
	o.mu.Lock()
	cmd, exited := o.cmd, o.exited
	o.cmd = nil
	o.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func lookFirst(candidates ...string) string {
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

func (s *Server) sshDir() string { return filepath.Join(s.cfg.DstackDir, "ssh") }

// prepareSSHD writes host keys, authorized_keys and sshd_config; it returns
// the config path. sshd listens where the built-in server would (see
// sshListenHost), plus the extra addresses.
func (s *Server) prepareSSHD(ctx context.Context, keygen string, extra ...string) (string, error) {
	dir := s.sshDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create ssh dir: %w", err)
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	if _, err := os.Stat(hostKey); err != nil {
		out, err := exec.CommandContext(ctx, keygen, "-q", "-N", "", "-t", "ed25519", "-f", hostKey).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("generate host key: %w: %s", err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "authorized_keys")); err != nil || len(extra) == 0 {
		keys := strings.Join(s.cfg.SSHAuthorizedKeys, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(keys), 0o644); err != nil {
			return "", fmt.Errorf("write authorized_keys: %w", err)
		}
	}
	for _, p := range []string{"/run/sshd", "/var/empty"} {
		_ = os.MkdirAll(p, 0o755)
	}
	listen := []string{fmt.Sprintf("Port %d", s.cfg.SSHPort)}
	if host := s.sshListenHost(); host != "" {
		listen = []string{"ListenAddress " + net.JoinHostPort(host, strconv.Itoa(s.cfg.SSHPort))}
		for _, ip := range extra {
			listen = append(listen, "ListenAddress "+net.JoinHostPort(ip, strconv.Itoa(s.cfg.SSHPort)))
		}
	}
	conf := strings.Join(append(listen,
		"HostKey "+hostKey,
		"AuthorizedKeysFile "+filepath.Join(dir, "authorized_keys")+" .ssh/authorized_keys",
		"PidFile none",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin yes",
		"StrictModes no",
		"AllowTcpForwarding yes",
		"AllowAgentForwarding yes",
		"ClientAliveInterval 30",
		"AcceptEnv LANG LC_*",
		"Subsystem sftp internal-sftp",
	), "\n") + "\n"
	path := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("write sshd_config: %w", err)
	}
	return path, nil
}

// setWidenSSH records how the job's SSH server adds a listen address.
func (s *Server) setWidenSSH(fn func(ip string) error) {
	s.sshMu.Lock()
	s.widenSSH = fn
	s.sshMu.Unlock()
}

// listenSSHOn makes a job SSH server bound to loopback also listen on ip:
// the node's address in its cluster, where the other nodes of a
// multi-node job reach it (and nothing else of the host's).
func (s *Server) listenSSHOn(ip string) {
	s.sshMu.Lock()
	fn := s.widenSSH
	s.widenSSH = nil // once
	s.sshMu.Unlock()
	if fn == nil || ip == "" || s.sshListenHost() == "" {
		return
	}
	if err := fn(ip); err != nil {
		s.note(slog.LevelWarn, "cannot listen for SSH on the cluster address", "ip", ip, "err", err)
	}
}
