package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// writeHostKey generates an Ed25519 host key, written as OpenSSH PEM.
func (h *Host) writeHostKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return fmt.Errorf("marshal host key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "host_ed25519_key"), pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	if h.HostKey, err = ssh.NewPublicKey(pub); err != nil {
		return fmt.Errorf("host public key: %w", err)
	}
	return nil
}

// writeConfig writes the sshd_config.
func (h *Host) writeConfig() error {
	lines := []string{
		"ListenAddress " + h.Addr + ":" + strconv.Itoa(h.Port),
		"HostKey " + filepath.Join(h.dir, "host_ed25519_key"),
		"PidFile " + filepath.Join(h.dir, "sshd.pid"),
		"AuthorizedKeysFile .ssh/authorized_keys",
		"AllowUsers " + h.User,
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin no",
		"UsePAM no",
		"StrictModes no",
		"AllowTcpForwarding yes",
		"UseDNS no",
		"PrintMotd no",
		"LogLevel VERBOSE",
	}
	if !h.opts.NoSFTP {
		lines = append(lines, "Subsystem sftp internal-sftp")
	}
	if h.AltAddr != "" {
		lines = append(lines, "ListenAddress "+h.AltAddr+":"+strconv.Itoa(h.Port))
	}
	cfg := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(h.dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}
	return nil
}

// startSSHD runs sshd in the foreground (-D) inside the namespace and
// waits for its pid file, written once it listens.
func (h *Host) startSSHD() error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("create /run/sshd: %w", err)
	}
	pidFile := filepath.Join(h.dir, "sshd.pid")
	_ = os.Remove(pidFile)
	cmd := exec.Command("ip", "netns", "exec", h.net.name, SSHD, "-D",
		"-f", filepath.Join(h.dir, "sshd_config"), "-E", filepath.Join(h.dir, "sshd.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	h.sshd, h.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(h.exited)
	ok := waitFor(10*time.Second, func() bool {
		select {
		case <-h.exited:
			return true
		default:
		}
		st, err := os.Stat(pidFile)
		return err == nil && st.Size() > 0
	})
	select {
	case <-h.exited:
		return fmt.Errorf("sshd exited: %s", h.SSHDLog())
	default:
	}
	if !ok {
		return fmt.Errorf("sshd did not write its pid file in 10s: %s", h.SSHDLog())
	}
	return nil
}

// stopSSHD stops the listening sshd by pid (sessions keep running).
func (h *Host) stopSSHD() {
	if h.sshd == nil {
		return
	}
	_ = h.sshd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(5 * time.Second):
		_ = h.sshd.Process.Kill()
		<-h.exited
	}
	h.sshd = nil
}

// killProcesses SIGKILLs, by pid, every process owned by uid (when > 0) or
// living in network namespace ns, and waits up to 5 s for them to go.
// These are all descendants of the host's sshd: our own processes.
func killProcesses(uid int, ns string) {
	var nsIno uint64
	if st, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
		nsIno = st.Sys().(*syscall.Stat_t).Ino
	}
	match := func(pid int) bool {
		if pid == os.Getpid() {
			return false
		}
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		if st, err := os.Stat(dir); err == nil && uid > 0 && int(st.Sys().(*syscall.Stat_t).Uid) == uid {
			return !zombie(pid)
		}
		st, err := os.Stat(filepath.Join(dir, "ns", "net"))
		return err == nil && nsIno != 0 && st.Sys().(*syscall.Stat_t).Ino == nsIno && !zombie(pid)
	}
	list := func() []int {
		var pids []int
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && match(pid) {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	waitFor(5*time.Second, func() bool {
		pids := list()
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		return len(pids) == 0
	})
}

// zombie reports an exited, unreaped process (nothing left to kill).
func zombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
