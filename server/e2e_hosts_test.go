package server_test

// End-to-end tests of who owns a host: one machine belongs to one fleet
// however it is spelled, pinned host keys follow the instances that use
// them, and fleet changes never pull a host from under a running job.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// addrFleetSpec is a fleet of one host reached at addr with key (the
// host's client key when nil), as the official CLI sends it.
func addrFleetSpec(t testing.TB, name string, h *sshtest.Host, addr string, key []byte) schemas.FleetSpec {
	t.Helper()
	if key == nil {
		key = h.ClientKey
	}
	signer, err := ssh.ParsePrivateKey(key)
	require.NoError(t, err)
	raw, err := json.Marshal(map[string]any{
		"configuration": map[string]any{"type": "fleet", "name": name,
			"env": map[string]string{"DSTACK_SHIM_EXECUTOR": "process"},
			"ssh_config": map[string]any{"hosts": []any{map[string]any{"hostname": addr, "user": h.User,
				"ssh_key": map[string]string{"private": string(key),
					"public": strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}}}}},
		"profile": map[string]any{"name": "default"},
	})
	require.NoError(t, err)
	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal(raw, &spec))
	return spec
}

// applyFleetIn applies a fleet in a project, as the CLI does.
func (s *testServer) applyFleetIn(t testing.TB, project string, spec schemas.FleetSpec) error {
	t.Helper()
	ctx := context.Background()
	var plan schemas.FleetPlan
	if err := s.Call(ctx, "/api/project/"+project+"/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan); err != nil {
		return err
	}
	req := schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource}, Force: true}
	return s.Call(ctx, "/api/project/"+project+"/fleets/apply", req, nil)
}

// fleetIn reads a fleet of a project.
func (s *testServer) fleetIn(project, name string) (*schemas.Fleet, error) {
	var f schemas.Fleet
	err := s.Call(context.Background(), "/api/project/"+project+"/fleets/get", schemas.GetFleetRequest{Name: &name}, &f)
	return &f, err
}

// TestOneMachineIsInOneFleet: a host already in a fleet, added again under
// another address by another project, is recognized by its SSH host key
// and refused before anything is deployed, and removing that refused
// instance leaves the first fleet's host alone.
func TestOneMachineIsInOneFleet(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{SecondAddress: true})
	s := startServer(t, server.Options{DatabaseURL: dbtest.URL(dbtest.PostgresTarget(t))})
	ctx := context.Background()
	require.NoError(t, s.Call(ctx, "/api/projects/create", map[string]any{"project_name": "other"}, nil))

	s.applyFleet(t, addrFleetSpec(t, "first", h, h.Addr, nil))
	s.waitFleet(t, "first", 90*time.Second, allInstances(schemas.InstanceIdle))

	require.NoError(t, s.applyFleetIn(t, "other", addrFleetSpec(t, "second", h, h.AltAddr, nil)))
	var dup schemas.Instance
	deadline := time.Now().Add(60 * time.Second)
	for {
		f, err := s.fleetIn("other", "second")
		require.NoError(t, err)
		require.Len(t, f.Instances, 1)
		dup = f.Instances[0]
		if dup.Status == schemas.InstanceTerminated || dup.Status == schemas.InstanceIdle || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, schemas.InstanceTerminated, dup.Status, "the second address of a machine in a fleet: %s", msgOf(&dup))
	require.Contains(t, msgOf(&dup), "already")
	require.Contains(t, msgOf(&dup), "SHA256:", "the message names the host key")

	require.NoError(t, s.Call(ctx, "/api/project/other/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"second"}}, nil))
	eventually(t, 30*time.Second, "fleet second gone", func() error {
		if _, err := s.fleetIn("other", "second"); err == nil {
			return errFleetStillThere
		}
		return nil
	})
	require.NotEmpty(t, shimProcesses(t, h), "the first fleet's shim still runs")
	time.Sleep(6 * time.Second) // a health check or two
	f := s.waitFleet(t, "first", 10*time.Second, allInstances(schemas.InstanceIdle))
	require.Len(t, f.Instances, 1)
}

var errFleetStillThere = errorString("the fleet is still there")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestHostKeyPinsFollowInstances: a host whose deploy timed out leaves no
// pinned key behind, so a host reinstalled meanwhile (a new host key) can
// be added again.
func TestHostKeyPinsFollowInstances(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{DeployTimeout: 3 * time.Second})
	ctx := context.Background()

	// A wrong key: the handshake pins the host key, then login fails
	// until the deploy times out.
	s.applyFleet(t, addrFleetSpec(t, "flaky", h, h.Addr, sshtest.NewClientKey(t)))
	f := s.waitFleet(t, "flaky", 60*time.Second, allInstances(schemas.InstanceTerminated))
	require.Equal(t, "provisioning_timeout", *f.Instances[0].TerminationReason)
	require.NoError(t, s.Call(ctx, "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"flaky"}}, nil))
	s.waitFleetGone(t, "flaky", 30*time.Second)

	h.RegenerateHostKey() // the host was reinstalled
	s.applyFleet(t, addrFleetSpec(t, "fixed", h, h.Addr, nil))
	s.waitFleet(t, "fixed", 90*time.Second, allInstances(schemas.InstanceIdle))
}

// TestFleetChangesSpareBusyHosts: re-applying a fleet without a host that
// runs a job is refused, and the job goes on.
func TestFleetChangesSpareBusyHosts(t *testing.T) {
	t.Parallel()
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "pair", h1, h2))
	s.waitFleet(t, "pair", 90*time.Second, allInstances(schemas.InstanceIdle))

	s.applyRun(t, taskSpec(t, "long", 1, "echo working", "sleep 600"))
	r := s.waitRun(t, "long", 60*time.Second, statusIs(schemas.RunRunning))
	busy := hostOf(t, r.LatestJobSubmission, h1, h2)
	idle := h1
	if busy == h1 {
		idle = h2
	}

	err := s.applyFleetIn(t, "main", sshFleetSpec(t, "pair", idle))
	requireBadRequest(t, err, "in use")
	time.Sleep(3 * time.Second)
	r = s.waitRun(t, "long", 5*time.Second, statusIs(schemas.RunRunning))
	f, err := s.fleetIn("main", "pair")
	require.NoError(t, err)
	require.Len(t, f.Instances, 2)
	for _, in := range f.Instances {
		require.NotEqual(t, schemas.InstanceTerminating, in.Status, "%s: %s", in.Name, msgOf(&in))
		require.NotEqual(t, schemas.InstanceTerminated, in.Status, "%s: %s", in.Name, msgOf(&in))
	}

	// Dropping the idle host is fine.
	require.NoError(t, s.applyFleetIn(t, "main", sshFleetSpec(t, "pair", busy)))
	s.waitFleet(t, "pair", 60*time.Second, func(f *schemas.Fleet) bool { return len(f.Instances) == 1 })
	s.stopRun(t, true, "long")
	s.waitRun(t, "long", 60*time.Second, finished)
}
