package sshtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// RunCloudInit does to the host what cloud-init does to a VM with this
// user data (#cloud-config): the ssh_authorized_keys are authorized for the
// host's user (the image's default user), and each runcmd entry runs as
// root. Like a VM's own disk, /root and /usr/local/bin are the host's own
// (bind mounts in a private mount namespace), so what runcmd installs stays
// on this host; the machine's Docker socket is hidden (the host is a VM
// without a Docker Engine). It waits for runcmd's foreground part; what it
// leaves running in the background lives until Close. Output goes to
// CloudInitLog. With keysOnly, runcmd is skipped (a VM whose startup
// script failed).
func (h *Host) RunCloudInit(userData string, keysOnly bool) error {
	if !strings.HasPrefix(userData, "#cloud-config") {
		return fmt.Errorf("user data is not a #cloud-config document")
	}
	var doc struct {
		Keys   []string `yaml:"ssh_authorized_keys"`
		RunCmd []any    `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return fmt.Errorf("parse user data: %w", err)
	}
	if err := h.AuthorizeKeys(doc.Keys); err != nil {
		return err
	}
	if keysOnly {
		return nil
	}
	root, bin := filepath.Join(h.dir, "vm-root"), filepath.Join(h.dir, "vm-usr-local-bin")
	for _, d := range []string{root, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(h.CloudInitLog(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	const mounts = `mount --bind "$1" /root && mount --bind "$2" /usr/local/bin &&
if [ -S /var/run/docker.sock ]; then mount --bind /dev/null /var/run/docker.sock; fi && shift 2 && exec "$@"`
	for i, c := range doc.RunCmd {
		var argv []string
		switch v := c.(type) {
		case string:
			argv = []string{"sh", "-c", v}
		case []any:
			for _, a := range v {
				argv = append(argv, fmt.Sprint(a))
			}
		default:
			return fmt.Errorf("runcmd[%d]: neither a string nor a list", i)
		}
		args := append([]string{"netns", "exec", h.net.name, "unshare", "--mount", "--propagation", "private",
			"sh", "-c", mounts, "sh", root, bin}, argv...)
		cmd := exec.Command("ip", args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("runcmd[%d]: %w (see %s)", i, err, h.CloudInitLog())
		}
	}
	return nil
}

// CloudInitLog is the file RunCloudInit writes runcmd's output to.
func (h *Host) CloudInitLog() string { return filepath.Join(h.dir, "cloud-init-output.log") }

// VMFile is the path on the machine of a file a RunCloudInit script wrote
// under /root (e.g. "/root/.dstack/shim.log").
func (h *Host) VMFile(p string) string {
	if rest, ok := strings.CutPrefix(p, "/root/"); ok {
		return filepath.Join(h.dir, "vm-root", rest)
	}
	return p
}
