package shim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
	"github.com/dstackgo/dstack/backends/agent/schemas"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pk, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

// TestHostKeysOfTasks runs tasks whose host_ssh_keys go into a real SSH
// host user's authorized_keys: the line that was there before any task
// (the fleet's own key) survives every task, a key two tasks share stays
// until the last of them ends, and a key that is not one bare key is
// refused.
func TestHostKeysOfTasks(t *testing.T) {
	h := sshtest.NewHost(t, sshtest.Options{})
	signer, err := ssh.ParsePrivateKey(h.ClientKey)
	require.NoError(t, err)
	fleetKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	userKey, otherKey := newPublicKey(t), newPublicKey(t)
	_, c := processShim(t)
	ctx := context.Background()
	authorized := func() string {
		b, err := os.ReadFile(filepath.Join(h.Home, ".ssh", "authorized_keys"))
		require.NoError(t, err)
		return string(b)
	}
	canLogIn := func() error {
		pool := sshfleet.NewPool(sshfleet.PoolOptions{})
		defer pool.Close()
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := pool.Get(cctx, h.Target())
		return err
	}
	start := func(id string, keys ...string) {
		t.Helper()
		cfg := taskConfig(id, "ubuntu")
		cfg.HostSSHUser, cfg.HostSSHKeys = h.User, keys
		require.NoError(t, c.SubmitTask(ctx, cfg), "submit %s", id)
		waitTask(t, c, id, 20*time.Second, isRunning)
	}
	end := func(id string) {
		t.Helper()
		req := schemas.TaskTerminateRequest{TerminationReason: "terminated_by_user", Timeout: 1}
		require.NoError(t, c.TerminateTask(ctx, id, req), "terminate %s", id)
		testutil.Eventually(t, 20*time.Second, "task "+id+" removed", func() bool { return c.RemoveTask(ctx, id) == nil })
	}

	const a, b = "5d7c2e10-8b3a-4f6e-9c1d-2a4b6c8e0f11", "6e8d3f21-9c4b-4a7f-8d2e-3b5c7d9f1a22"
	start(a, fleetKey, userKey+" alice@laptop")
	start(b, userKey+" alice@laptop", otherKey)
	text := authorized()
	require.False(t, strings.Count(text, strings.Fields(userKey)[1]) != 1 || strings.Count(text, strings.Fields(fleetKey)[1]) != 1, "each key once, please:\n%s", text)

	end(a)
	text = authorized()
	require.Contains(t, text, strings.Fields(fleetKey)[1], "the fleet's own key went with the task:\n%s", text)
	require.NoError(t, canLogIn(), "the server is locked out of the host")
	require.Contains(t, text, strings.Fields(userKey)[1], "a key the other running task needs was removed:\n%s", text)

	end(b)
	text = authorized()
	require.False(t, strings.Contains(text, strings.Fields(userKey)[1]) || strings.Contains(text, strings.Fields(otherKey)[1]), "keys of ended tasks are left:\n%s", text)
	require.NoError(t, canLogIn(), "the server is locked out of the host")

	for name, keys := range map[string][]string{
		"two lines":   {userKey + "\n" + otherKey},
		"with option": {`command="/bin/sh" ` + userKey},
		"garbage":     {"not a key"},
	} {
		cfg := taskConfig("7f9e4a32-ad5c-4b80-9e3f-4c6d8eaa2b33", "ubuntu")
		cfg.HostSSHUser, cfg.HostSSHKeys = h.User, keys
		err := c.SubmitTask(ctx, cfg)
		require.True(t, client.IsStatus(err, http.StatusBadRequest), "%s: submit = %v, want a 400", name, err)

	}
	require.NotContains(t, authorized(), strings.Fields(otherKey)[1], "a refused task changed authorized_keys")
}
