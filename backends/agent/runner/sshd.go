package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	conf, err := s.prepareSSHD(ctx, keygen)
	if err != nil {
		s.note(slog.LevelWarn, "cannot prepare sshd", "err", err)
		return nil, false
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", conf)
	if err := cmd.Start(); err != nil {
		s.note(slog.LevelWarn, "cannot start sshd", "err", err)
		return nil, false
	}
	s.note(slog.LevelInfo, "sshd started", "port", s.cfg.SSHPort)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	}, true
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
// the config path.
func (s *Server) prepareSSHD(ctx context.Context, keygen string) (string, error) {
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
	keys := strings.Join(s.cfg.SSHAuthorizedKeys, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(keys), 0o644); err != nil {
		return "", fmt.Errorf("write authorized_keys: %w", err)
	}
	for _, p := range []string{"/run/sshd", "/var/empty"} {
		_ = os.MkdirAll(p, 0o755)
	}
	conf := strings.Join([]string{
		fmt.Sprintf("Port %d", s.cfg.SSHPort),
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys") + " .ssh/authorized_keys",
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
	}, "\n") + "\n"
	path := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("write sshd_config: %w", err)
	}
	return path, nil
}
