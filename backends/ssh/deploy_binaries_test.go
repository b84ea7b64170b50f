package ssh_test

import (
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dstackgo/dstack/backends/agent/dist"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// macServer is how a server on macOS finds agents: this executable is a
// darwin build, so hosts get the linux/<arch> build configured per
// architecture.
func macServer(t *testing.T, configured string) *sshfleet.Binaries {
	t.Helper()
	l := dist.New(dist.Options{Version: "dev", Configured: configured, CacheDir: t.TempDir(),
		Self: "/Applications/dstack", SelfOS: "darwin", SelfArch: "arm64"})
	bins := &sshfleet.Binaries{Locate: l.Path}
	t.Cleanup(func() { _ = bins.Close() })
	return bins
}

func TestDeployPicksTheHostsArchitecture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dstackBinary(t) // builds it: binPath
	if err := os.Symlink(binPath, filepath.Join(dir, "dstack-linux-"+runtime.GOARCH)); err != nil {
		t.Fatal(err)
	}
	other := map[string]elf.Machine{"amd64": elf.EM_AARCH64, "arm64": elf.EM_X86_64}[runtime.GOARCH]
	otherArch := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if err := os.WriteFile(filepath.Join(dir, "dstack-linux-"+otherArch), fakeELF(other), 0o755); err != nil {
		t.Fatal(err)
	}
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, 2*time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	info, err := sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binaries: macServer(t, filepath.Join(dir, "dstack-{os}-{arch}")),
		Env: processEnv, HealthTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if info.Arch != runtime.GOARCH || !info.Uploaded {
		t.Fatalf("deploy: %+v", info)
	}
	if err := sshfleet.Undeploy(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func TestDeployWithoutABinaryForTheHost(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "dstack-{os}-{arch}")
	_, err = sshfleet.Deploy(ctx, c, sshfleet.DeployOptions{Binaries: macServer(t, missing)})
	if sshfleet.KindOf(err) != sshfleet.KindUnsupportedHost {
		t.Fatalf("want an unsupported host, got %v", err)
	}
	for _, want := range []string{"no linux/" + runtime.GOARCH + " dstack binary", strings.ReplaceAll(missing, "{os}-{arch}", "linux-"+runtime.GOARCH),
		"this executable (built for darwin/arm64)", `version "dev" is not a release`} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error lacks %q: %v", want, err)
		}
	}
	t.Logf("message: %v", err)
}
