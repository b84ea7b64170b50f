package ssh_test

import (
	"bytes"
	"debug/elf"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	require.NoError(t, err)
	projectKey, err := sshfleet.PublicKeyLine(sshtest.NewClientKey(t))
	require.NoError(t, err)
	hostKeyLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(mustSigner(t, h.ClientKey).PublicKey())))
	opts := sshfleet.DeployOptions{Binary: bin, Env: processEnv, HealthTimeout: time.Minute,
		AuthorizedKeys: []string{projectKey + " project", hostKeyLine}}

	start := time.Now()
	info, err := sshfleet.Deploy(ctx, c, opts)
	require.NoError(t, err)
	t.Logf("first deploy took %s", time.Since(start).Round(time.Millisecond))
	require.False(t, info.Mode != sshfleet.ModeUser || !info.Uploaded || !info.Restarted || info.Arch != runtime.GOARCH, "first deploy: %+v", info)
	require.False(t, info.CPUs <= 0 || info.Memory == 0 || info.Executor != "process" || info.ShimHome != h.Home+"/.dstack", "host info: %+v", info)
	require.NoError(t, shimHealthy(ctx, c), "healthcheck through the tunnel")
	keys := readAuthorizedKeys(t, h)
	require.Equal(t, 1, strings.Count(keys, sshfleet.AuthorizedKeysMarker), "authorized_keys markers after deploy:\n%s", keys)
	require.Contains(t, keys, projectKey+" project "+sshfleet.AuthorizedKeysMarker, "authorized_keys after deploy")

	start = time.Now()
	again, err := sshfleet.Deploy(ctx, c, opts)
	require.NoError(t, err)
	t.Logf("second deploy took %s", time.Since(start).Round(time.Millisecond))
	require.False(t, again.Uploaded, "deploying again is not idempotent: uploaded: %+v", again)
	require.False(t, again.Restarted, "deploying again is not idempotent: restarted: %+v", again)
	require.Equal(t, keys, readAuthorizedKeys(t, h), "deploying again changed authorized_keys")

	opts.Env = map[string]string{"DSTACK_SHIM_EXECUTOR": "process", "FLEET_VAR": `a "quoted" $value`}
	changed, err := sshfleet.Deploy(ctx, c, opts)
	require.NoError(t, err, "env change")
	require.False(t, changed.Uploaded, "env change must not upload: %+v", changed)
	require.True(t, changed.Restarted, "env change must restart: %+v", changed)
	out, err := h.AsUser(`tr '\0' '\n' < /proc/$(pgrep -u $(id -u) -f "[d]stack shim" | head -1)/environ | grep FLEET_VAR`)
	require.NoError(t, err, "fleet env in the shim: %q", out)
	require.Equal(t, `FLEET_VAR=a "quoted" $value`, strings.TrimSpace(out), "fleet env in the shim")

	// A dead shim (supervisor and all) is restarted by the next deploy.
	out, err = h.AsUser(`kill -KILL -$(cat .dstack/shim.pid)`)
	require.NoError(t, err, "kill shim: %s", out)
	revived, err := sshfleet.Deploy(ctx, c, opts)
	require.NoError(t, err, "deploy after the shim died")
	require.True(t, revived.Restarted, "dead shim not restarted: %+v", revived)
	require.False(t, revived.Uploaded, "dead shim: uploaded again: %+v", revived)

	require.NoError(t, sshfleet.Undeploy(ctx, c))
	require.Error(t, shimHealthy(ctx, c), "shim still answers after Undeploy")
	out, _ = h.AsUser("ls .dstack .dstack/bin 2>&1; pgrep -u $(id -u) -f '[d]stack shim' || echo none")
	require.NotContains(t, out, "shim.env", "left after Undeploy")
	require.NotContains(t, out, "shim.pid", "left after Undeploy")
	require.True(t, strings.HasSuffix(strings.TrimSpace(out), "none"), "shim process left after Undeploy:\n%s", out)
	keys = readAuthorizedKeys(t, h)
	require.NotContains(t, keys, sshfleet.AuthorizedKeysMarker, "authorized_keys after Undeploy")
	require.Contains(t, keys, hostKeyLine, "authorized_keys after Undeploy")
	require.NoError(t, sshfleet.Undeploy(ctx, c), "second Undeploy")
}

func TestDeployShimDoesNotStart(t *testing.T) {
	t.Parallel()
	bin := dstackBinary(t)
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, 2*time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	require.NoError(t, err)
	_, err = sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binary: bin, HealthTimeout: 4 * time.Second,
		Env: map[string]string{"DSTACK_SHIM_EXECUTOR": "no-such-executor"}})
	require.Equal(t, sshfleet.KindAgent, sshfleet.KindOf(err), "want agent error with the log tail, got %v", err)
	require.ErrorContains(t, err, "did not answer GET /api/healthcheck")
	require.ErrorIs(t, err, sshfleet.ErrRemoteRefused)
	require.ErrorContains(t, err, "no-such-executor", "log tail")
	require.ErrorContains(t, err, "shim.log", "log tail")
	t.Logf("message: %v", err)
	require.NoError(t, sshfleet.Undeploy(ctx, c))
}

func TestDeployArchMismatch(t *testing.T) {
	t.Parallel()
	machine, other := elf.EM_AARCH64, "arm64"
	if runtime.GOARCH == "arm64" {
		machine, other = elf.EM_X86_64, "amd64"
	}
	img := fakeELF(machine)
	bin, err := sshfleet.NewBinary(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	require.NoError(t, err)
	_, err = sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binary: bin})
	require.Equal(t, sshfleet.KindUnsupportedHost, sshfleet.KindOf(err), "want arch mismatch, got %v", err)
	require.ErrorContains(t, err, "is linux/"+runtime.GOARCH, "arch mismatch")
	require.ErrorContains(t, err, "built for linux/"+other, "arch mismatch")

	t.Logf("message: %v", err)
}

func mustSigner(t testing.TB, key []byte) ssh.Signer {
	t.Helper()
	s, err := sshfleet.ParsePrivateKey(key)
	require.NoError(t, err)
	return s
}

func readAuthorizedKeys(t testing.TB, h *sshtest.Host) string {
	t.Helper()
	out, err := h.AsUser("cat .ssh/authorized_keys")
	require.NoError(t, err, "read authorized_keys: %v %s", err, out)
	return out
}
