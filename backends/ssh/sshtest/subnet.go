package sshtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Subnet is a reserved 10.x.y.0/24 whose hosts sit at chosen addresses,
// like VMs in a cloud subnet: the test can make the same CIDR a VPC subnet
// in an emulator and put a host at each address the emulator assigns. Its
// gateway, .1, is an address of this machine (on its loopback) that
// the hosts reach it at: a server listening there is reachable from them.
type Subnet struct {
	CIDR    string
	Gateway string
	net     netAlloc
}

// ReserveSubnet claims a free subnet until cleanup.
func ReserveSubnet(t testing.TB) *Subnet {
	t.Helper()
	Require(t)
	a, err := allocNetwork(nil)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s := &Subnet{CIDR: a.subnet, Gateway: a.peerIP, net: a}
	t.Cleanup(func() {
		_ = ipIn("", "addr", "del", a.peerIP+"/32", "dev", "lo")
		_ = ipIn("", "route", "del", "unreachable", a.subnet, "metric", fallbackMetric)
		_ = ipIn("", "netns", "delete", a.name)
	})
	err = runSteps([][]string{
		{"", "route", "add", "unreachable", a.subnet, "metric", fallbackMetric},
		{"", "addr", "add", a.peerIP + "/32", "dev", "lo"},
	})
	if err != nil {
		t.Fatalf("sshtest: reserve %s: %v", a.subnet, err)
	}
	return s
}

// alloc claims the namespace of a host at addr in the subnet.
func (s *Subnet) alloc(addr string) (netAlloc, error) {
	ip, err := netip.ParseAddr(addr)
	pfx := netip.MustParsePrefix(s.CIDR)
	if err != nil || !pfx.Contains(ip) || addr == s.Gateway || ip == pfx.Addr() {
		return netAlloc{}, fmt.Errorf("address %q is not a host address of %s", addr, s.CIDR)
	}
	last := ip.As4()[3]
	a := netAlloc{name: s.net.name + "-" + strconv.Itoa(int(last)), subnet: s.CIDR, peerIP: s.Gateway, hostIP: addr, inSubnet: true}
	if err := exec.Command("ip", "netns", "add", a.name).Run(); err != nil {
		return netAlloc{}, fmt.Errorf("claim namespace %s for %s: %v", a.name, addr, err)
	}
	return a, nil
}

// NewUser creates a Unix user for hosts to share (Options.User), removed at
// cleanup.
func NewUser(t testing.TB) string {
	t.Helper()
	Require(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "dsu" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("sshtest: useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", "-f", name).CombinedOutput(); err != nil {
			t.Logf("sshtest: userdel %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
		t.Fatalf("sshtest: usermod %s: %v: %s", name, err, out)
	}
	return name
}

// useUser makes the host log in an existing user, authorizing its client key.
func (h *Host) useUser(name string) error {
	h.User = name
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		return fmt.Errorf("id -u %s: %w", name, err)
	}
	h.UID, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	out, err = exec.Command("sh", "-c", `getent passwd "$1" | cut -d: -f6`, "sh", name).Output()
	if err != nil {
		return fmt.Errorf("home of %s: %w", name, err)
	}
	h.Home = strings.TrimSpace(string(out))
	if h.ClientKey, err = newClientKey(); err != nil {
		return err
	}
	return h.authorize(h.ClientKey)
}

// authorize appends the public half of a PEM private key to the user's
// authorized_keys.
func (h *Host) authorize(privPEM []byte) error {
	signer, err := parseKey(privPEM)
	if err != nil {
		return err
	}
	return h.AuthorizeKeys([]string{string(marshalAuthorized(signer))})
}

// AuthorizeKeys appends authorized_keys lines for the host's user.
func (h *Host) AuthorizeKeys(lines []string) error {
	dir := filepath.Join(h.Home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "authorized_keys"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := f.WriteString(strings.TrimSpace(l) + "\n"); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if out, err := exec.Command("chown", "-R", h.User+":", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("chown .ssh: %v: %s", err, out)
	}
	return nil
}
