package sshtest_test

import (
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
		require.NotEqual(t, h.Addr, behind.Addr, "hosts share an address")
		require.NotEqual(t, h.Name, behind.Name, "hosts share a name")
		require.NotZero(t, h.UID, "host user is root")
		require.True(t, strings.HasPrefix(h.Addr, "10."), "host address %s", h.Addr)
		out, err := h.AsUser("id -un; ls -d ~/.ssh")
		require.NoError(t, err, "user: %q", out)
		require.True(t, strings.HasPrefix(out, h.User+"\n"), "user: %q", out)
		out, err = h.Exec("ip", "-4", "-o", "addr", "show")
		require.NoError(t, err, "jump host addresses: %q", out)
		require.Contains(t, out, h.Addr+"/24", "jump host addresses")
		require.Contains(t, out, behind.Addr[:strings.LastIndex(behind.Addr, ".")]+".1/24", "jump host addresses")
	}) // subtest cleanup removes both hosts
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			assert.NotContains(t, []string{h.Name, behind.Name}, f[0], "namespace left")
		}
	}
	assert.Error(t, exec.Command("id", h.User).Run(), "user %s left", h.User)
	out, _ = exec.Command("ip", "route", "show", "match", h.Addr).Output()
	assert.NotContains(t, string(out), "unreachable", "route left")

}
