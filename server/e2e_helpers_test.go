package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agentBinary builds the static dstack binary deployed to the test hosts.
func agentBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// Builds are kept by content under one shared directory: test
		// processes do not leave a 60 MB binary each behind, and a process
		// never deploys another one's build (of a tree edited since).
		shared := filepath.Join(os.TempDir(), "dstack-e2e-bin")
		if buildErr = os.MkdirAll(shared, 0o755); buildErr != nil {
			return
		}
		dir, err := os.MkdirTemp(shared, "build")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		built := filepath.Join(dir, "dstack")
		cmd := exec.Command("go", "build", "-o", built, "github.com/dstackgo/dstack")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build dstack: %v\n%s", err, out)
			return
		}
		data, err := os.ReadFile(built)
		if err != nil {
			buildErr = err
			return
		}
		sum := sha256.Sum256(data)
		binPath = filepath.Join(shared, "dstack-"+hex.EncodeToString(sum[:6]))
		if buildErr = os.Rename(built, binPath); buildErr != nil {
			return
		}
		now := time.Now()
		_ = os.Chtimes(binPath, now, now) // in use: not pruned below
		entries, _ := os.ReadDir(shared)
		for _, e := range entries { // builds of trees long gone
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(filepath.Join(shared, e.Name()))
			}
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// testServer is an in-process server with background processing.
type testServer struct {
	*client.Client
	dir string
}

func startServer(t testing.TB, opts server.Options) *testServer {
	t.Helper()
	dir := t.TempDir()
	opts.Dir, opts.Host, opts.AdminToken, opts.ConfigDisabled = dir, "127.0.0.1", "admin-token", true
	if opts.AgentBinary == "" {
		opts.AgentBinary = agentBinary(t)
	}
	if opts.JobNetworkMode == 0 {
		opts.JobNetworkMode = 2
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})
	return &testServer{Client: client.New(srv.URL(), "admin-token"), dir: dir}
}

// sshFleetSpec is the fleet spec the CLI would send for these hosts, with
// the process executor (the hosts' users cannot use Docker).
func sshFleetSpec(t testing.TB, name string, hosts ...*sshtest.Host) schemas.FleetSpec {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(hosts[0].ClientKey)
	require.NoError(t, err)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	var hs []string
	for _, h := range hosts {
		hs = append(hs, fmt.Sprintf(`{"hostname": %q, "user": %q, "ssh_key": {"public": %q, "private": %q}}`,
			h.Addr, h.User, pub, string(h.ClientKey)))
	}
	raw := fmt.Sprintf(`{"configuration": {"type": "fleet", "name": %q, "placement": "cluster",
		"env": {"DSTACK_SHIM_EXECUTOR": "process"}, "ssh_config": {"hosts": [%s]}},
		"profile": {"name": "default"}}`, name, strings.Join(hs, ","))
	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	return spec
}

// applyFleet plans and applies a fleet as the official CLI does.
func (s *testServer) applyFleet(t testing.TB, spec schemas.FleetSpec) *schemas.Fleet {
	t.Helper()
	ctx := context.Background()
	var plan schemas.FleetPlan
	require.NoError(t, s.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan))
	var f schemas.Fleet
	req := schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource}}
	require.NoError(t, s.Call(ctx, "/api/project/main/fleets/apply", req, &f))
	return &f
}

// waitFleet polls fleets/get until cond holds.
func (s *testServer) waitFleet(t testing.TB, name string, timeout time.Duration, cond func(*schemas.Fleet) bool) *schemas.Fleet {
	t.Helper()
	var f schemas.Fleet
	deadline := time.Now().Add(timeout)
	for {
		f = schemas.Fleet{} // fields omitted when empty must not keep old values
		err := s.Call(context.Background(), "/api/project/main/fleets/get", schemas.GetFleetRequest{Name: &name}, &f)
		if err == nil && cond(&f) {
			return &f
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleet %s: condition not met within %s; last: %+v (err %v)", name, timeout, summary(&f), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func summary(f *schemas.Fleet) []string {
	var out []string
	for _, in := range f.Instances {
		msg := ""
		if in.StatusMessage != nil {
			msg = *in.StatusMessage
		}
		out = append(out, fmt.Sprintf("%s=%s unreachable=%v %s", in.Name, in.Status, in.Unreachable, msg))
	}
	return out
}

func allInstances(status schemas.InstanceStatus) func(*schemas.Fleet) bool {
	return func(f *schemas.Fleet) bool {
		for _, in := range f.Instances {
			if in.Status != status || in.Unreachable {
				return false
			}
		}
		return len(f.Instances) > 0
	}
}
