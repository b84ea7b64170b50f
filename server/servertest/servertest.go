// Package servertest builds the dstack binary and runs in-process servers
// for end-to-end tests of several packages.
package servertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dstackgo/dstack/server"
)

// The environment and directory the test process started with: a test may
// move HOME or the working directory before it needs the binary, and the
// build must still use the real module cache and run inside the module.
var (
	startEnv = os.Environ()
	startWD  = func() string { wd, _ := os.Getwd(); return wd }()
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the static dstack binary (CGO_ENABLED=0) once per test
// process. Builds are kept by content under one shared directory, so test
// processes do not leave a 60 MB binary each behind and a process never
// deploys another one's build of a tree edited since; builds unused for a
// day are pruned.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// ReleaseTags are the build tags of release binaries: they leave out code
// the binary never calls (gin's msgpack codec, urfave/cli's man page
// writer), which also takes their package initialisers off every start.
const ReleaseTags = "nomsgpack,urfave_cli_no_docs"

func build() (string, error) {
	shared := filepath.Join(os.TempDir(), "dstack-e2e-bin")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(shared, "build")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	built := filepath.Join(dir, "dstack")
	// The flags of a release build (Makefile, goreleaser.yaml) but -trimpath:
	// it changes no behaviour, only the file paths recorded in the binary, and
	// without it the build reuses the packages the tests compiled (with
	// CGO_ENABLED=0 as .ci/test.sh sets) instead of compiling all of them again.
	cmd := exec.Command("go", "build", "-tags", ReleaseTags, "-ldflags", "-s -w", "-o", built, "github.com/dstackgo/dstack")
	cmd.Env, cmd.Dir = append(startEnv, "CGO_ENABLED=0"), startWD
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build dstack: %v\n%s", err, out)
	}
	data, err := os.ReadFile(built)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	path := filepath.Join(shared, "dstack-"+hex.EncodeToString(sum[:6]))
	if err := os.Rename(built, path); err != nil {
		return "", err
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // in use: not pruned below
	entries, _ := os.ReadDir(shared)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(filepath.Join(shared, e.Name()))
		}
	}
	return path, nil
}

// FreePort returns a loopback TCP port that nothing listened on a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// AdminToken is the admin token of servers started by Start.
const AdminToken = "admin-token"

// Start runs a server in-process with its pipelines on a free loopback
// port, in a temp dir with config.yml disabled, deploying Binary to hosts
// unless opts say otherwise, and stops it at cleanup. It returns the URL.
func Start(t testing.TB, opts server.Options) string {
	t.Helper()
	opts.Dir, opts.Host, opts.AdminToken, opts.ConfigDisabled = t.TempDir(), "127.0.0.1", AdminToken, true
	if opts.AgentBinary == "" {
		opts.AgentBinary = Binary(t)
	}
	if opts.JobNetworkMode == 0 {
		opts.JobNetworkMode = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})
	return srv.URL()
}
