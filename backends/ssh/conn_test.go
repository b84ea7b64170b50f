package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
			if err != nil {
				t.Fatal(err)
			}
			out, errOut, err := c.Run(ctx, "id -un; echo oops >&2", nil)
			if err != nil || strings.TrimSpace(string(out)) != h.User || strings.TrimSpace(string(errOut)) != "oops" {
				t.Fatalf("run: %q %q %v", out, errOut, err)
			}
			out, _, err = c.Run(ctx, "cat", strings.NewReader("piped"))
			if err != nil || string(out) != "piped" {
				t.Fatalf("stdin: %q %v", out, err)
			}
			_, _, err = c.Run(ctx, "echo bad >&2; exit 3", nil)
			var ce *sshfleet.CommandError
			if !errors.As(err, &ce) || ce.ExitStatus != 3 || ce.Stderr != "bad" || sshfleet.KindOf(err) != sshfleet.KindCommand {
				t.Fatalf("exit status: %v", err)
			}
			payload := bytes.Repeat([]byte("0123456789abcdef"), 100_000)
			for i := 0; i < 2; i++ { // the second upload replaces the file
				if err := c.Upload(ctx, "up/dir/file.bin", 0o750, bytes.NewReader(payload)); err != nil {
					t.Fatalf("upload: %v", err)
				}
			}
			out, _, err = c.Run(ctx, "stat -c '%a %s' up/dir/file.bin && ls up/dir | wc -l && sha256sum < up/dir/file.bin", nil)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if lines[0] != "750 1600000" || strings.TrimSpace(lines[1]) != "1" {
				t.Fatalf("uploaded file: %q", out)
			}
			c2, err := pool.Get(ctx, h.Target())
			if err != nil || c2 != c {
				t.Fatalf("pool did not reuse the connection: %v", err)
			}
			c.Close()
			c3, err := pool.Get(ctx, h.Target())
			if err != nil || c3 == c {
				t.Fatalf("pool did not replace a closed connection: %v", err)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	pool := newPool(t, sshfleet.PoolOptions{})
	c, err := pool.Get(ctxT(t, time.Minute), h.Target())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.Run(ctx, "sleep 30", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	// More concurrent commands than sessions slots: they queue, none fails.
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() { _, _, err := c.Run(ctxT(t, time.Minute), "sleep 0.2", nil); errs <- err }()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err, h.SSHDLog())
		}
	}
}

func TestHostKeyPinnedThenChanged(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	store := sshfleet.NewMemoryHostKeyStore()
	ctx := ctxT(t, time.Minute)
	pool := sshfleet.NewPool(sshfleet.PoolOptions{HostKeys: store})
	if _, err := pool.Get(ctx, h.Target()); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	pinned, ok, _ := store.Get(sshfleet.HostKeyID(h.Target().Addr()))
	if !ok || !bytes.Equal(pinned, h.HostKey.Marshal()) {
		t.Fatalf("host key not pinned on first use")
	}
	old := h.HostKey
	h.RegenerateHostKey()
	pool = newPool(t, sshfleet.PoolOptions{HostKeys: store})
	_, err := pool.Get(ctx, h.Target())
	var hk *sshfleet.HostKeyChangedError
	if !errors.As(err, &hk) || sshfleet.KindOf(err) != sshfleet.KindHostKeyChanged {
		t.Fatalf("want HostKeyChangedError, got %v", err)
	}
	if hk.Old != ssh.FingerprintSHA256(old) || hk.New != ssh.FingerprintSHA256(h.HostKey) {
		t.Fatalf("fingerprints: %+v", hk)
	}
	for _, want := range []string{"has changed", hk.Old, hk.New, "add it again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	t.Logf("message: %s", err)
	store.Forget(sshfleet.HostKeyID(h.Target().Addr())) // the operator accepts the new key
	if _, err := pool.Get(ctx, h.Target()); err != nil {
		t.Fatalf("after accepting the new key: %v", err)
	}
}

func TestWrongKeyAuthFailed(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	target := h.Target()
	target.PrivateKey = sshtest.NewClientKey(t)
	_, err := newPool(t, sshfleet.PoolOptions{}).Get(ctxT(t, time.Minute), target)
	if sshfleet.KindOf(err) != sshfleet.KindAuth {
		t.Fatalf("want auth failure, got %v", err)
	}
	want := "SSH authentication failed for " + h.User + "@" + target.Addr() + ": the server refused the key SHA256:"
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q does not start with %q", err, want)
	}
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
	if sshfleet.KindOf(err) != sshfleet.KindUnreachable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}
	live, err := pool.Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	h.Cut()
	start := time.Now()
	_, err = newPool(t, sshfleet.PoolOptions{DialTimeout: 2 * time.Second}).Get(ctx, h.Target())
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cut host detected after %s", d)
	}
	want := "cannot reach " + h.Target().Addr() + ": "
	if sshfleet.KindOf(err) != sshfleet.KindUnreachable || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("cut host: %v", err)
	}
	t.Logf("cut host after %s: %v", time.Since(start).Round(time.Millisecond), err)
	select {
	case <-live.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("keepalive did not close the connection to the cut host")
	}
	h.Restore()
	if _, err := pool.Get(ctx, h.Target()); err != nil {
		t.Fatalf("after restore: %v", err)
	}
}

func TestProxyJump(t *testing.T) {
	t.Parallel()
	jump := sshtest.NewHost(t, sshtest.Options{})
	h := sshtest.NewHost(t, sshtest.Options{Behind: jump})
	pool := newPool(t, sshfleet.PoolOptions{DialTimeout: 2 * time.Second})
	ctx := ctxT(t, time.Minute)
	c, err := pool.Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := c.Run(ctx, "id -un", nil)
	if err != nil || strings.TrimSpace(string(out)) != h.User {
		t.Fatalf("run through jump: %q %v", out, err)
	}
	direct := h.Target()
	direct.ProxyJump = nil
	if _, err := pool.Get(ctx, direct); sshfleet.KindOf(err) != sshfleet.KindUnreachable {
		t.Fatalf("host behind the jump reachable directly? %v", err)
	}
	badJump := h.Target()
	bj := *badJump.ProxyJump
	bj.PrivateKey = sshtest.NewClientKey(t)
	badJump.ProxyJump = &bj
	_, err = pool.Get(ctx, badJump)
	if sshfleet.KindOf(err) != sshfleet.KindProxyJump || !strings.Contains(err.Error(), "through proxy jump "+bj.Addr()) ||
		!strings.Contains(err.Error(), "SSH authentication failed for "+bj.User) {
		t.Fatalf("bad jump key: %v", err)
	}
	wrongPort := h.Target()
	wrongPort.Port = 2222
	_, err = pool.Get(ctx, wrongPort)
	if sshfleet.KindOf(err) != sshfleet.KindUnreachable || !strings.Contains(err.Error(), "from proxy jump "+bj.Addr()) {
		t.Fatalf("closed port behind jump: %v", err)
	}
	t.Logf("messages: %v", err)
}
