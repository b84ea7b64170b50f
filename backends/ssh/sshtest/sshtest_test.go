package sshtest_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func TestHostLifecycle(t *testing.T) {
	sshtest.Require(t)
	var h, behind *sshtest.Host
	t.Run("create", func(t *testing.T) {
		h = sshtest.NewHost(t, sshtest.Options{})
		behind = sshtest.NewHost(t, sshtest.Options{Behind: h})
		if h.Addr == behind.Addr || h.Name == behind.Name || h.UID == 0 || !strings.HasPrefix(h.Addr, "10.") {
			t.Fatalf("hosts: %+v %+v", h, behind)
		}
		if out, err := h.AsUser("id -un; ls -d ~/.ssh"); err != nil || !strings.HasPrefix(out, h.User+"\n") {
			t.Fatalf("user: %q %v", out, err)
		}
		if out, err := h.Exec("ip", "-4", "-o", "addr", "show"); err != nil || !strings.Contains(out, h.Addr+"/24") ||
			!strings.Contains(out, behind.Addr[:strings.LastIndex(behind.Addr, ".")]+".1/24") {
			t.Fatalf("jump host addresses: %q %v", out, err)
		}
	}) // subtest cleanup removes both hosts
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == h.Name || f[0] == behind.Name) {
			t.Errorf("namespace %s left", f[0])
		}
	}
	if err := exec.Command("id", h.User).Run(); err == nil {
		t.Errorf("user %s left", h.User)
	}
	if out, _ := exec.Command("ip", "route", "show", "match", h.Addr).Output(); strings.Contains(string(out), "unreachable") {
		t.Errorf("route left: %s", out)
	}
}
