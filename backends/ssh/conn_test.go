package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func newPool(t testing.TB, opts sshfleet.PoolOptions) *sshfleet.Pool {
	t.Helper()
	p := sshfleet.NewPool(opts)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectRunUpload(t *testing.T) {
	t.Parallel()
	for _, noSFTP := range []bool{false, true} {
		name := map[bool]string{false: "sftp", true: "cat"}[noSFTP]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := sshtest.NewHost(t, sshtest.Options{NoSFTP: noSFTP})
			ctx := ctxT(t, time.Minute)
			pool := newPool(t, sshfleet.PoolOptions{})
			c, err := pool.Get(ctx, h.Target())
			require.NoError(t, err)
			out, errOut, err := c.Run(ctx, "id -un; echo oops >&2", nil)
			require.False(t, err != nil || strings.TrimSpace(string(out)) != h.User || strings.TrimSpace(string(errOut)) != "oops", "run: %q %q %v", out, errOut, err)
			out, _, err = c.Run(ctx, "cat", strings.NewReader("piped"))
			require.False(t, err != nil || string(out) != "piped", "stdin: %q %v", out, err)
			_, _, err = c.Run(ctx, "echo bad >&2; exit 3", nil)
			var ce *sshfleet.CommandError
			require.False(t, !errors.As(err, &ce) || ce.ExitStatus != 3 || ce.Stderr != "bad" || sshfleet.KindOf(err) != sshfleet.KindCommand, "exit status: %v", err)
			payload := bytes.Repeat([]byte("0123456789abcdef"), 100_000)
			for i := 0; i < 2; i++ { // the second upload replaces the file
				require.NoError(t, c.Upload(ctx, "up/dir/file.bin", 0o750, bytes.NewReader(payload)), "upload")
			}
			out, _, err = c.Run(ctx, "stat -c '%a %s' up/dir/file.bin && ls up/dir | wc -l && sha256sum < up/dir/file.bin", nil)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.False(t, lines[0] != "750 1600000" || strings.TrimSpace(lines[1]) != "1", "uploaded file: %q", out)
			c2, err := pool.Get(ctx, h.Target())
			require.False(t, err != nil || c2 != c, "pool did not reuse the connection: %v", err)
			c.Close()
			c3, err := pool.Get(ctx, h.Target())
			require.False(t, err != nil || c3 == c, "pool did not replace a closed connection: %v", err)
		})
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	pool := newPool(t, sshfleet.PoolOptions{})
	c, err := pool.Get(ctxT(t, time.Minute), h.Target())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Run(ctx, "sleep 30", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second, "cancel took too long")
	// More concurrent commands than sessions slots: they queue, none fails.
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() { _, _, err := c.Run(ctxT(t, time.Minute), "sleep 0.2", nil); errs <- err }()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			require.NoError(t, err, h.SSHDLog())
		}
	}
}

func TestHostKeyPinnedThenChanged(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	store := sshfleet.NewMemoryHostKeyStore()
	ctx := ctxT(t, time.Minute)
	pool := sshfleet.NewPool(sshfleet.PoolOptions{HostKeys: store})
	_, err := pool.Get(ctx, h.Target())
	require.NoError(t, err)
	pool.Close()
	pinned, ok, _ := store.Get(sshfleet.HostKeyID(h.Target().Addr()))
	require.False(t, !ok || !bytes.Equal(pinned, h.HostKey.Marshal()), "host key not pinned on first use")
	old := h.HostKey
	h.RegenerateHostKey()
	pool = newPool(t, sshfleet.PoolOptions{HostKeys: store})
	_, err = pool.Get(ctx, h.Target())
	var hk *sshfleet.HostKeyChangedError
	require.False(t, !errors.As(err, &hk) || sshfleet.KindOf(err) != sshfleet.KindHostKeyChanged, "want HostKeyChangedError, got %v", err)
	require.False(t, hk.Old != ssh.FingerprintSHA256(old) || hk.New != ssh.FingerprintSHA256(h.HostKey), "fingerprints: %+v", hk)
	for _, want := range []string{"has changed", hk.Old, hk.New, "add it again"} {
		assert.Contains(t, err.Error(), want, "message lacks %q: %s", want, err)
	}
	t.Logf("message: %s", err)
	store.Forget(sshfleet.HostKeyID(h.Target().Addr())) // the operator accepts the new key
	_, err = pool.Get(ctx, h.Target())
	require.NoError(t, err, "after accepting the new key")
}

func TestWrongKeyAuthFailed(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	target := h.Target()
	target.PrivateKey = sshtest.NewClientKey(t)
	_, err := newPool(t, sshfleet.PoolOptions{}).Get(ctxT(t, time.Minute), target)
	require.True(t, sshfleet.KindOf(err) == sshfleet.KindAuth, "want auth failure, got %v", err)
	want := "SSH authentication failed for " + h.User + "@" + target.Addr() + ": the server refused the key SHA256:"
	require.True(t, strings.HasPrefix(err.Error(), want), "message %q does not start with %q", err, want)
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	pool := newPool(t, sshfleet.PoolOptions{DialTimeout: 2 * time.Second,
		KeepaliveInterval: 300 * time.Millisecond, KeepaliveTimeout: time.Second})
	ctx := ctxT(t, time.Minute)
	refused := h.Target()
	refused.Port = 2222
	_, err := pool.Get(ctx, refused)
	require.Equal(t, sshfleet.KindUnreachable, sshfleet.KindOf(err), "closed port: %v", err)
	require.ErrorContains(t, err, "connection refused", "closed port")
	live, err := pool.Get(ctx, h.Target())
	require.NoError(t, err)
	h.Cut()
	start := time.Now()
	_, err = newPool(t, sshfleet.PoolOptions{DialTimeout: 2 * time.Second}).Get(ctx, h.Target())
	require.Less(t, time.Since(start), 5*time.Second, "cut host detected too late")
	want := "cannot reach " + h.Target().Addr() + ": "
	require.Equal(t, sshfleet.KindUnreachable, sshfleet.KindOf(err), "cut host: %v", err)
	require.True(t, strings.HasPrefix(err.Error(), want), "cut host: %v", err)
	t.Logf("cut host after %s: %v", time.Since(start).Round(time.Millisecond), err)
	select {
	case <-live.Done():
	case <-time.After(5 * time.Second):
		require.FailNow(t, "keepalive did not close the connection to the cut host")
	}
	h.Restore()
	// The kernel may still hold the cut host's failed neighbour entry for a
	// moment ("no route to host"): the pool must connect once it clears.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err = pool.Get(ctx, h.Target()); err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "after restore")
}

func TestProxyJump(t *testing.T) {
	t.Parallel()
	jump := sshtest.NewHost(t, sshtest.Options{})
	h := sshtest.NewHost(t, sshtest.Options{Behind: jump})
	pool := newPool(t, sshfleet.PoolOptions{DialTimeout: 2 * time.Second})
	ctx := ctxT(t, time.Minute)
	c, err := pool.Get(ctx, h.Target())
	require.NoError(t, err)
	out, _, err := c.Run(ctx, "id -un", nil)
	require.NoError(t, err, "run through jump")
	require.Equal(t, h.User, strings.TrimSpace(string(out)), "run through jump")
	direct := h.Target()
	direct.ProxyJump = nil
	_, err = pool.Get(ctx, direct)
	require.Equal(t, sshfleet.KindUnreachable, sshfleet.KindOf(err), "host behind the jump reachable directly? %v", err)
	badJump := h.Target()
	bj := *badJump.ProxyJump
	bj.PrivateKey = sshtest.NewClientKey(t)
	badJump.ProxyJump = &bj
	_, err = pool.Get(ctx, badJump)
	require.Equal(t, sshfleet.KindProxyJump, sshfleet.KindOf(err), "bad jump key: %v", err)
	require.ErrorContains(t, err, "through proxy jump "+bj.Addr(), "bad jump key")
	require.ErrorContains(t, err, "SSH authentication failed for "+bj.User, "bad jump key")
	wrongPort := h.Target()
	wrongPort.Port = 2222
	_, err = pool.Get(ctx, wrongPort)
	require.Equal(t, sshfleet.KindUnreachable, sshfleet.KindOf(err), "closed port behind jump: %v", err)
	require.ErrorContains(t, err, "from proxy jump "+bj.Addr(), "closed port behind jump")

	t.Logf("messages: %v", err)
}
