// Package sshtest makes real SSH test hosts: each Host is a network
// namespace reached over a veth pair (a private 10.x.y.0/24 of its own), a
// Unix user of its own and a real OpenSSH sshd listening in the namespace.
// Hosts share the machine's filesystem and process table but each has its
// own loopback, so agents on 127.0.0.1:10998 of different hosts do not
// collide. It needs root, iproute2 and /usr/sbin/sshd (package
// openssh-server); tests skip without them, and fail when CI=true.
//
//	h := sshtest.NewHost(t, sshtest.Options{})            // removed by t.Cleanup
//	conn, err := pool.Get(ctx, h.Target())                // user h.User, key h.ClientKey
//	h.Cut(); h.Restore()                                   // pull and replug the cable
//	h.RegenerateHostKey()                                  // new sshd host key, sshd restarted
//	b := sshtest.NewHost(t, sshtest.Options{Behind: h})    // reachable only via h
//	conn, err = pool.Get(ctx, b.Target())                  // Target() jumps through h
//	out, err := h.AsUser("cat ~/.dstack/shim.log")         // inspect the host directly
//
// Subnets are 10.160.0.0–10.223.255.0/24, claimed atomically with `ip netns
// add` (names dsh<X>-<Y>), so parallel test processes never collide.
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
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
)

// SSHD is the sshd binary used.
const SSHD = "/usr/sbin/sshd"

// Options configure NewHost.
type Options struct {
	// Behind makes the host reachable only from inside that host's
	// namespace (the veth pair joins the two namespaces): connect with
	// Target(), which jumps through Behind.
	Behind *Host
	// NoSFTP leaves the sftp subsystem out of sshd_config.
	NoSFTP bool
	// Subnet and Addr put the host at a chosen address of a reserved
	// subnet (ReserveSubnet), like a VM in a cloud subnet.
	Subnet *Subnet
	Addr   string
	// User is an existing Unix user (NewUser) the host logs in, shared
	// with other hosts; by default each host has a user of its own.
	User string
	// SecondAddress gives the host a second address, AltAddr, where sshd
	// listens too: one machine known by two addresses (as by an IP address
	// and a host name).
	SecondAddress bool
}

// Host is a namespaced test host with a running sshd.
type Host struct {
	Name string // namespace and Unix user name
	Addr string // sshd's IPv4 address
	// AltAddr is the host's second address (Options.SecondAddress), "" if none.
	AltAddr string
	Port    int // sshd's port (22)
	User    string
	Home    string
	UID     int
	// ClientKey is the PEM private key authorized in ~/.ssh/authorized_keys.
	ClientKey []byte
	// HostKey is sshd's current host public key.
	HostKey ssh.PublicKey

	t       testing.TB
	dir     string
	opts    Options
	net     netAlloc
	sshd    *exec.Cmd
	exited  chan struct{}
	closeMu sync.Once
}

// Require skips the test unless sshtest can run here (root, ip, sshd);
// under CI=true it fails instead.
func Require(t testing.TB) {
	t.Helper()
	var missing string
	switch {
	case os.Geteuid() != 0:
		missing = "root"
	case !executable(SSHD):
		missing = SSHD + " (apt-get install -y openssh-server)"
	}
	if _, err := exec.LookPath("ip"); missing == "" && err != nil {
		missing = "ip (iproute2)"
	}
	if _, err := exec.LookPath("useradd"); missing == "" && err != nil {
		missing = "useradd"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("sshtest needs %s (CI=true: not skipping)", missing)
	}
	t.Skipf("sshtest needs %s", missing)
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// NewHost creates a host and registers its removal with t.Cleanup.
func NewHost(t testing.TB, opts Options) *Host {
	t.Helper()
	Require(t)
	h := &Host{t: t, dir: t.TempDir(), opts: opts, Port: 22}
	var err error
	if opts.Subnet != nil {
		h.net, err = opts.Subnet.alloc(opts.Addr)
	} else {
		h.net, err = allocNetwork(opts.Behind)
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	h.Name, h.User, h.Addr = h.net.name, h.net.name, h.net.hostIP
	if opts.SecondAddress {
		h.AltAddr = h.net.altIP()
	}
	t.Cleanup(h.Close)
	if err := h.setup(); err != nil {
		t.Fatalf("sshtest: host %s: %v", h.Name, err)
	}
	return h
}

func (h *Host) setup() error {
	if err := h.net.up(); err != nil {
		return err
	}
	if h.AltAddr != "" {
		if err := ipIn(h.net.name, "addr", "add", h.AltAddr+"/24", "dev", h.net.name+"i"); err != nil {
			return err
		}
	}
	if err := h.addUser(); err != nil {
		return err
	}
	if err := h.writeHostKey(); err != nil {
		return err
	}
	if err := h.writeConfig(); err != nil {
		return err
	}
	return h.startSSHD()
}

// Target returns the target for this host (through Behind, if set).
func (h *Host) Target() sshfleet.Target {
	t := sshfleet.Target{Host: h.Addr, Port: h.Port, User: h.User, PrivateKey: h.ClientKey}
	if h.opts.Behind != nil {
		jump := h.opts.Behind.Target()
		t.ProxyJump = &jump
	}
	return t
}

// Cut takes the host's end of its link down, like a pulled cable: packets
// to it are lost (new connections time out, or fail with "no route to host"
// once the neighbour entry expires; open ones stall) until Restore.
func (h *Host) Cut() {
	h.t.Helper()
	if err := h.net.setLink("down"); err != nil {
		h.t.Fatalf("sshtest: cut %s: %v", h.Name, err)
	}
}

// Restore brings the host's link back up.
func (h *Host) Restore() {
	h.t.Helper()
	if err := h.net.setLink("up"); err != nil {
		h.t.Fatalf("sshtest: restore %s: %v", h.Name, err)
	}
}

// RegenerateHostKey gives sshd a new host key and restarts it.
func (h *Host) RegenerateHostKey() ssh.PublicKey {
	h.t.Helper()
	h.stopSSHD()
	if err := h.writeHostKey(); err != nil {
		h.t.Fatalf("sshtest: %v", err)
	}
	if err := h.startSSHD(); err != nil {
		h.t.Fatalf("sshtest: restart sshd: %v", err)
	}
	return h.HostKey
}

// Exec runs a command as root inside the host's namespace and returns its
// combined output.
func (h *Host) Exec(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.net.name}, args...)...).CombinedOutput()
	return string(out), err
}

// AsUser runs a shell script as the host's user inside its namespace.
func (h *Host) AsUser(script string) (string, error) {
	return h.Exec("runuser", "-u", h.User, "--", "sh", "-c", "cd && "+script)
}

// SSHDLog returns sshd's log so far.
func (h *Host) SSHDLog() string {
	b, _ := os.ReadFile(filepath.Join(h.dir, "sshd.log"))
	return string(b)
}

// Close stops sshd and every process of the host (the user's and those in
// its namespace), deletes the user with its home, and the network.
func (h *Host) Close() {
	h.closeMu.Do(func() {
		h.stopSSHD()
		if h.opts.User != "" {
			killProcesses(-1, h.net.name)
		} else if h.UID > 0 {
			killProcesses(h.UID, h.net.name)
			if out, err := exec.Command("userdel", "-r", "-f", h.User).CombinedOutput(); err != nil {
				h.t.Logf("sshtest: userdel %s: %v: %s", h.User, err, out)
			}
		} else {
			killProcesses(-1, h.net.name)
		}
		h.net.down()
	})
}

func (h *Host) addUser() error {
	if h.opts.User != "" {
		return h.useUser(h.opts.User)
	}
	_ = exec.Command("userdel", "-r", "-f", h.User).Run() // left by a crashed run holding this name
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", h.User).CombinedOutput(); err != nil {
		return fmt.Errorf("useradd: %v: %s", err, out)
	}
	if out, err := exec.Command("usermod", "-p", "*", h.User).CombinedOutput(); err != nil {
		return fmt.Errorf("usermod: %v: %s", err, out)
	}
	out, err := exec.Command("id", "-u", h.User).Output()
	if err != nil {
		return fmt.Errorf("id -u: %w", err)
	}
	h.UID, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	out, err = exec.Command("sh", "-c", `getent passwd "$1" | cut -d: -f6`, "sh", h.User).Output()
	if err != nil {
		return fmt.Errorf("home of %s: %w", h.User, err)
	}
	h.Home = strings.TrimSpace(string(out))
	if h.ClientKey, err = newClientKey(); err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(h.ClientKey)
	if err != nil {
		return fmt.Errorf("parse client key: %w", err)
	}
	sshDir := filepath.Join(h.Home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return fmt.Errorf("create .ssh: %w", err)
	}
	line := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys"), []byte(line), 0o600); err != nil {
		return fmt.Errorf("write authorized_keys: %w", err)
	}
	if out, err := exec.Command("chown", "-R", h.User+":", sshDir).CombinedOutput(); err != nil {
		return fmt.Errorf("chown .ssh: %v: %s", err, out)
	}
	return nil
}

// newClientKey returns a fresh Ed25519 private key in OpenSSH PEM form.
func newClientKey() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshtest")
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// NewClientKey returns a fresh Ed25519 PEM private key that no host
// authorizes (for wrong-key tests).
func NewClientKey(t testing.TB) []byte {
	t.Helper()
	k, err := newClientKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitFor polls cond every 50ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func parseKey(privPEM []byte) (ssh.Signer, error) { return ssh.ParsePrivateKey(privPEM) }

func marshalAuthorized(s ssh.Signer) []byte { return ssh.MarshalAuthorizedKey(s.PublicKey()) }
