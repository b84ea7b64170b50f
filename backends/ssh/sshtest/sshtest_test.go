package sshtest_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func TestHostLifecycle(t *testing.T) {
	sshtest.Require(t)
	var h, behind *sshtest.Host
	t.Run("create", func(t *testing.T) {
		h = sshtest.NewHost(t, sshtest.Options{})
		behind = sshtest.NewHost(t, sshtest.Options{Behind: h})
		require.False(t, h.Addr == behind.Addr || h.Name == behind.Name || h.UID == 0 || !strings.HasPrefix(h.Addr, "10."), "hosts: %+v %+v", h, behind)
		if out, err := h.AsUser("id -un; ls -d ~/.ssh"); err != nil || !strings.HasPrefix(out, h.User+"\n") {
			require.FailNow(t, fmt.Sprintf("user: %q %v", out, err))
		}
		if out, err := h.Exec("ip", "-4", "-o", "addr", "show"); err != nil || !strings.Contains(out, h.Addr+"/24") ||
			!strings.Contains(out, behind.Addr[:strings.LastIndex(behind.Addr, ".")]+".1/24") {
			require.FailNow(t, fmt.Sprintf("jump host addresses: %q %v", out, err))
		}
	}) // subtest cleanup removes both hosts
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == h.Name || f[0] == behind.Name) {
			assert.Fail(t, fmt.Sprintf("namespace %s left", f[0]))
		}
	}
	if err := exec.Command("id", h.User).Run(); err == nil {
		assert.Fail(t, fmt.Sprintf("user %s left", h.User))
	}
	if out, _ := exec.Command("ip", "route", "show", "match", h.Addr).Output(); strings.Contains(string(out), "unreachable") {
		assert.Fail(t, fmt.Sprintf("route left: %s", out))
	}
}
