package ssh_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// processEnv makes namespaced hosts use the process executor (their users
// are not in the docker group, and Docker lives in the root namespace).
var processEnv = map[string]string{"DSTACK_SHIM_EXECUTOR": "process"}

func TestDeployUserMode(t *testing.T) {
	t.Parallel()
	bin := dstackBinary(t)
	// Two hosts deployed at once: each shim listens on 127.0.0.1:10998 of
	// its own namespace, so they must not collide.
	for _, name := range []string{"h1", "h2"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testDeployLifecycle(t, bin)
		})
	}
}

func testDeployLifecycle(t *testing.T, bin *sshfleet.Binary) {
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, 3*time.Minute)
	pool := newPool(t, sshfleet.PoolOptions{})
	c, err := pool.Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	projectKey, err := sshfleet.PublicKeyLine(sshtest.NewClientKey(t))
	if err != nil {
		t.Fatal(err)
	}
	hostKeyLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(mustSigner(t, h.ClientKey).PublicKey())))
	opts := sshfleet.DeployOptions{Binary: bin, Env: processEnv, HealthTimeout: time.Minute,
		AuthorizedKeys: []string{projectKey + " project", hostKeyLine}}

	start := time.Now()
	info, err := sshfleet.Deploy(ctx, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first deploy took %s", time.Since(start).Round(time.Millisecond))
	if info.Mode != sshfleet.ModeUser || !info.Uploaded || !info.Restarted || info.Arch != runtime.GOARCH {
		t.Fatalf("first deploy: %+v", info)
	}
	if info.CPUs <= 0 || info.Memory == 0 || info.Executor != "process" || info.ShimHome != h.Home+"/.dstack" {
		t.Fatalf("host info: %+v", info)
	}
	if err := shimHealthy(ctx, c); err != nil {
		t.Fatalf("healthcheck through the tunnel: %v", err)
	}
	keys := readAuthorizedKeys(t, h)
	if strings.Count(keys, sshfleet.AuthorizedKeysMarker) != 1 || !strings.Contains(keys, projectKey+" project "+sshfleet.AuthorizedKeysMarker) {
		t.Fatalf("authorized_keys after deploy:\n%s", keys)
	}

	start = time.Now()
	again, err := sshfleet.Deploy(ctx, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second deploy took %s", time.Since(start).Round(time.Millisecond))
	if again.Uploaded || again.Restarted || readAuthorizedKeys(t, h) != keys {
		t.Fatalf("deploying again is not idempotent: %+v", again)
	}

	opts.Env = map[string]string{"DSTACK_SHIM_EXECUTOR": "process", "FLEET_VAR": `a "quoted" $value`}
	changed, err := sshfleet.Deploy(ctx, c, opts)
	if err != nil || changed.Uploaded || !changed.Restarted {
		t.Fatalf("env change must restart without upload: %+v %v", changed, err)
	}
	if out, err := h.AsUser(`tr '\0' '\n' < /proc/$(pgrep -u $(id -u) -f "[d]stack shim" | head -1)/environ | grep FLEET_VAR`); err != nil ||
		strings.TrimSpace(out) != `FLEET_VAR=a "quoted" $value` {
		t.Fatalf("fleet env in the shim: %q %v", out, err)
	}

	// A dead shim (supervisor and all) is restarted by the next deploy.
	if out, err := h.AsUser(`kill -KILL -$(cat .dstack/shim.pid)`); err != nil {
		t.Fatalf("kill shim: %v %s", err, out)
	}
	revived, err := sshfleet.Deploy(ctx, c, opts)
	if err != nil || !revived.Restarted || revived.Uploaded {
		t.Fatalf("dead shim not restarted: %+v %v", revived, err)
	}

	if err := sshfleet.Undeploy(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := shimHealthy(ctx, c); err == nil {
		t.Fatal("shim still answers after Undeploy")
	}
	if out, _ := h.AsUser("ls .dstack .dstack/bin 2>&1; pgrep -u $(id -u) -f '[d]stack shim' || echo none"); strings.Contains(out, "shim.env") ||
		strings.Contains(out, "shim.pid") || !strings.HasSuffix(strings.TrimSpace(out), "none") {
		t.Fatalf("left after Undeploy:\n%s", out)
	}
	if keys := readAuthorizedKeys(t, h); strings.Contains(keys, sshfleet.AuthorizedKeysMarker) || !strings.Contains(keys, hostKeyLine) {
		t.Fatalf("authorized_keys after Undeploy:\n%s", keys)
	}
	if err := sshfleet.Undeploy(ctx, c); err != nil {
		t.Fatalf("second Undeploy: %v", err)
	}
}

func TestDeployShimDoesNotStart(t *testing.T) {
	t.Parallel()
	bin := dstackBinary(t)
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, 2*time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binary: bin, HealthTimeout: 4 * time.Second,
		Env: map[string]string{"DSTACK_SHIM_EXECUTOR": "no-such-executor"}})
	if sshfleet.KindOf(err) != sshfleet.KindAgent || !strings.Contains(err.Error(), "did not answer GET /api/healthcheck") ||
		!errors.Is(err, sshfleet.ErrRemoteRefused) ||
		!strings.Contains(err.Error(), "no-such-executor") || !strings.Contains(err.Error(), "shim.log") {
		t.Fatalf("want agent error with the log tail, got %v", err)
	}
	t.Logf("message: %v", err)
	if err := sshfleet.Undeploy(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func TestDeployArchMismatch(t *testing.T) {
	t.Parallel()
	machine, other := elf.EM_AARCH64, "arm64"
	if runtime.GOARCH == "arm64" {
		machine, other = elf.EM_X86_64, "amd64"
	}
	img := fakeELF(machine)
	bin, err := sshfleet.NewBinary(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binary: bin})
	if sshfleet.KindOf(err) != sshfleet.KindUnsupportedHost ||
		!strings.Contains(err.Error(), "is linux/"+runtime.GOARCH) || !strings.Contains(err.Error(), "built for linux/"+other) {
		t.Fatalf("want arch mismatch, got %v", err)
	}
	t.Logf("message: %v", err)
}

func mustSigner(t testing.TB, key []byte) ssh.Signer {
	t.Helper()
	s, err := sshfleet.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readAuthorizedKeys(t testing.TB, h *sshtest.Host) string {
	t.Helper()
	out, err := h.AsUser("cat .ssh/authorized_keys")
	if err != nil {
		t.Fatalf("read authorized_keys: %v %s", err, out)
	}
	return out
}
