package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// testServer is an in-process server with background processing.
type testServer struct {
	*client.Client
}

func startServer(t testing.TB, opts server.Options) *testServer {
	t.Helper()
	if testing.Verbose() && opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return &testServer{Client: client.New(servertest.Start(t, opts), servertest.AdminToken)}
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
			require.FailNow(t, fmt.Sprintf("fleet %s: condition not met within %s; last: %+v (err %v)", name, timeout, summary(&f), err))
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
