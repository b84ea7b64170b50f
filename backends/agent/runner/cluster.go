package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// setupClusterSSH lets the nodes of a multi-node job reach each other over
// SSH: the job's key pair goes to ~/.ssh/dstack_job, every node IP gets a Host
// entry in ~/.ssh/config, and the public key is accepted by this node's sshd.
func (s *Server) setupClusterSSH(job *schemas.SubmitBody, env *jobEnv) error {
	key := job.JobSpec.SSHKey
	if key == nil || len(job.ClusterInfo.JobIPs) < 2 || s.cfg.SSHPort <= 0 || env.HomeDir == "/" {
		return nil
	}
	sshDir := filepath.Join(env.HomeDir, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return fmt.Errorf("create ssh dir: %w", err)
	}
	privPath := filepath.Join(sshDir, "dstack_job")
	if err := os.WriteFile(privPath, []byte(key.Private), 0o600); err != nil {
		return fmt.Errorf("write job key: %w", err)
	}
	var b strings.Builder
	for _, ip := range job.ClusterInfo.JobIPs {
		fmt.Fprintf(&b, "\nHost %s\n    Port %d\n    StrictHostKeyChecking no\n", ip, s.cfg.SSHPort)
		fmt.Fprintf(&b, "    UserKnownHostsFile /dev/null\n    IdentityFile %s\n", privPath)
	}
	cfgPath := filepath.Join(sshDir, "config")
	f, err := os.OpenFile(cfgPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open ssh config: %w", err)
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write ssh config: %w", err)
	}
	if env.Cred != nil {
		for _, p := range []string{sshDir, privPath, cfgPath} {
			_ = os.Chown(p, env.UID, env.GID)
		}
	}
	ak, err := os.OpenFile(filepath.Join(s.sshDir(), "authorized_keys"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open authorized_keys: %w", err)
	}
	defer ak.Close()
	if _, err := fmt.Fprintln(ak, strings.TrimSpace(key.Public)); err != nil {
		return fmt.Errorf("add job key: %w", err)
	}
	return nil
}
