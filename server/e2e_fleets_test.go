package server_test

// End-to-end tests of SSH fleet lifecycles on real namespaced hosts: health
// checks (a cut link, a changed host key), deploy failures (a wrong key, an
// unreachable host), proxy jumps, deletion with host cleanup, and fleet
// membership (conflicts, delete_instances, in-place updates).
//
// Each test drives several hosts at once against one server, so that the
// slow parts (health-check detection, dial timeouts) overlap; the tests run
// in parallel with each other.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// fleetHost is one ssh_config.hosts entry of fleetSpecOf.
type fleetHost struct {
	h *sshtest.Host
	// key is the private key sent for the host; h.ClientKey when nil.
	key []byte
	// jump is the proxy jump host (its own user and client key).
	jump *sshtest.Host
}

// fleetSpecOf is the spec the official CLI sends for these hosts: per-host
// user and key (the CLI has read identity_file), optional proxy jump, and
// the process executor (the hosts' users cannot use Docker).
func fleetSpecOf(t testing.TB, name string, hosts ...fleetHost) schemas.FleetSpec {
	t.Helper()
	type key struct {
		Public  string `json:"public"`
		Private string `json:"private"`
	}
	keyOf := func(priv []byte) key {
		signer, err := ssh.ParsePrivateKey(priv)
		require.NoError(t, err)
		return key{Public: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), Private: string(priv)}
	}
	var hs []map[string]any
	for _, fh := range hosts {
		priv := fh.key
		if priv == nil {
			priv = fh.h.ClientKey
		}
		e := map[string]any{"hostname": fh.h.Addr, "user": fh.h.User, "ssh_key": keyOf(priv)}
		if fh.jump != nil {
			e["proxy_jump"] = map[string]any{"hostname": fh.jump.Addr, "user": fh.jump.User,
				"identity_file": "~/.ssh/jump_key", "ssh_key": keyOf(fh.jump.ClientKey)}
		}
		hs = append(hs, e)
	}
	raw, err := json.Marshal(map[string]any{
		"configuration": map[string]any{"type": "fleet", "name": name,
			"env": map[string]string{"DSTACK_SHIM_EXECUTOR": "process"}, "ssh_config": map[string]any{"hosts": hs}},
		"profile": map[string]any{"name": "default"},
	})
	require.NoError(t, err)
	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal(raw, &spec))
	return spec
}

// instanceOn returns the fleet's instance number num (numbers follow the
// order of ssh_config.hosts at creation).
func instanceOn(f *schemas.Fleet, num int) *schemas.Instance {
	for i := range f.Instances {
		if f.Instances[i].InstanceNum == num {
			return &f.Instances[i]
		}
	}
	return nil
}

// instanceIs is a waitFleet condition on one instance.
func instanceIs(num int, cond func(in *schemas.Instance) bool) func(*schemas.Fleet) bool {
	return func(f *schemas.Fleet) bool {
		in := instanceOn(f, num)
		return in != nil && cond(in)
	}
}

func msgOf(in *schemas.Instance) string {
	if in == nil || in.StatusMessage == nil {
		return ""
	}
	return *in.StatusMessage
}

func idleAndReachable(in *schemas.Instance) bool {
	return in.Status == schemas.InstanceIdle && !in.Unreachable && in.StatusMessage == nil
}

// awaitFleet polls fleets/get until cond holds, decoding every answer
// afresh (status_message is omitted when empty, so decoding into the
// previous answer would keep a stale message).
func (s *testServer) awaitFleet(t *testing.T, name string, timeout time.Duration, cond func(*schemas.Fleet) bool) *schemas.Fleet {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := s.getFleet(name)
		if err == nil && cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("fleet %s: condition not met within %s; last: %v (err %v)", name, timeout, summary(f), err))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// getFleet calls fleets/get.
func (s *testServer) getFleet(name string) (*schemas.Fleet, error) {
	var f schemas.Fleet
	err := s.Call(context.Background(), "/api/project/main/fleets/get", schemas.GetFleetRequest{Name: &name}, &f)
	return &f, err
}

// waitFleetGone polls fleets/get, as the official CLI does after a delete,
// until it answers 400 resource_not_exists; every answer before must show
// the fleet terminating.
func (s *testServer) waitFleetGone(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := s.getFleet(name)
		if err != nil {
			var ce *client.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 400, ce.Status)
			require.True(t, client.IsNotFound(err), "fleets/get of a deleted fleet: %v", err)
			return
		}
		require.Equal(t, schemas.FleetTerminating, f.Status, "fleet %s while being deleted", name)
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("fleet %s still there after %s: %v", name, timeout, summary(f)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// requireBadRequest asserts a 400 whose message contains want.
func requireBadRequest(t *testing.T, err error, want string) {
	t.Helper()
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 400, ce.Status, ce.Msg)
	require.Contains(t, ce.Msg, want)
}

// shimProcesses lists the host user's processes that are the deployed shim
// or its supervisor (the hosts share the machine's process table).
func shimProcesses(t *testing.T, h *sshtest.Host) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	require.NoError(t, err)
	var out []string
	for _, d := range dirs {
		st, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil || !strings.Contains(string(st), "\nUid:\t"+strconv.Itoa(h.UID)+"\t") {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		line := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		if strings.Contains(line, "dstack-shim-supervisor") || strings.Contains(line, "/.dstack/bin/dstack") {
			out = append(out, filepath.Base(d)+" "+line)
		}
	}
	return out
}

// asUser runs a script as the host's user and returns its trimmed output.
func asUser(t *testing.T, h *sshtest.Host, script string) string {
	t.Helper()
	out, err := h.AsUser(script)
	require.NoError(t, err, out)
	return strings.TrimSpace(out)
}

func deployedFiles(t *testing.T, h *sshtest.Host) (binary bool, tagged int) {
	t.Helper()
	out := asUser(t, h, "if [ -e .dstack/bin/dstack ]; then echo yes; else echo no; fi; grep -c '"+sshfleet.AuthorizedKeysMarker+"' .ssh/authorized_keys || true")
	lines := strings.Fields(out)
	require.Len(t, lines, 2, out)
	n, err := strconv.Atoi(lines[1])
	require.NoError(t, err, out)
	return lines[0] == "yes", n
}

// requireDeployed checks the shim runs on h and its files are there.
func requireDeployed(t *testing.T, h *sshtest.Host) {
	t.Helper()
	require.NotEmpty(t, shimProcesses(t, h), "the shim should run on %s", h.Name)
	bin, tagged := deployedFiles(t, h)
	require.True(t, bin, "the dstack binary should be on %s", h.Name)
	require.Positive(t, tagged, "the project key should be authorized on %s", h.Name)
}

// requireCleanedUp checks that undeploy left nothing of dstack running or
// installed on h, and that the user's own key still lets it in.
func requireCleanedUp(t *testing.T, h *sshtest.Host) {
	t.Helper()
	require.Empty(t, shimProcesses(t, h), "no shim process should be left on %s", h.Name)
	bin, tagged := deployedFiles(t, h)
	require.False(t, bin, "~/.dstack/bin/dstack should be removed from %s", h.Name)
	require.Zero(t, tagged, "authorized_keys entries added by dstack should be removed from %s", h.Name)
	signer, err := ssh.ParsePrivateKey(h.ClientKey)
	require.NoError(t, err)
	own := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	require.Contains(t, asUser(t, h, "cat .ssh/authorized_keys"), own, "the user's own key must stay")
}

// TestSSHFleetHealthChecks: a host whose link is cut while idle becomes
// unreachable with a clear message and comes back when restored; a host
// whose host key changes is refused (both fingerprints in the message), not
// silently re-pinned; an idle host whose shim died (a reboot without
// systemd) gets it started again.
func TestSSHFleetHealthChecks(t *testing.T) {
	t.Parallel()
	cut := sshtest.NewHost(t, sshtest.Options{})
	rekeyed := sshtest.NewHost(t, sshtest.Options{})
	revived := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})

	s.applyFleet(t, fleetSpecOf(t, "health", fleetHost{h: cut}, fleetHost{h: rekeyed}, fleetHost{h: revived}))
	s.waitFleet(t, "health", 60*time.Second, allInstances(schemas.InstanceIdle))

	// The new host key takes effect on the next connection: the pooled one
	// survives sshd's restart, so the cut below forces a reconnect.
	oldKey := ssh.FingerprintSHA256(rekeyed.HostKey)
	newKey := ssh.FingerprintSHA256(rekeyed.RegenerateHostKey())
	require.NotEqual(t, oldKey, newKey)

	// Kill the shim and its supervisor, as a reboot would.
	oldPid := asUser(t, revived, "cat .dstack/shim.pid")
	pgid, err := strconv.Atoi(oldPid)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(-pgid, syscall.SIGKILL))

	start := time.Now()
	cut.Cut()
	rekeyed.Cut()
	f := s.awaitFleet(t, "health", 35*time.Second, func(f *schemas.Fleet) bool {
		return instanceOn(f, 0).Unreachable && instanceOn(f, 1).Unreachable
	})
	t.Logf("cut links detected in %s: %q", time.Since(start).Round(100*time.Millisecond), msgOf(instanceOn(f, 0)))
	for _, num := range []int{0, 1} {
		in := instanceOn(f, num)
		require.Equal(t, schemas.InstanceIdle, in.Status, "an unreachable SSH host keeps its status")
		require.Contains(t, msgOf(in), "cannot reach "+*in.Hostname+":22")
	}

	start = time.Now()
	cut.Restore()
	rekeyed.Restore()
	s.awaitFleet(t, "health", 30*time.Second, instanceIs(0, idleAndReachable))
	t.Logf("restored link detected in %s", time.Since(start).Round(100*time.Millisecond))

	hostKeyChanged := func(in *schemas.Instance) bool {
		return in.Unreachable && strings.Contains(msgOf(in), "host key")
	}
	f = s.awaitFleet(t, "health", 30*time.Second, instanceIs(1, hostKeyChanged))
	msg := msgOf(instanceOn(f, 1))
	t.Logf("changed host key: %s", msg)
	require.Contains(t, msg, "has changed")
	require.Contains(t, msg, rekeyed.Addr)
	require.Contains(t, msg, oldKey, "the message names the pinned key")
	require.Contains(t, msg, newKey, "the message names the presented key")

	s.awaitFleet(t, "health", 30*time.Second, func(f *schemas.Fleet) bool {
		pid, _ := revived.AsUser("cat .dstack/shim.pid")
		return idleAndReachable(instanceOn(f, 2)) && strings.TrimSpace(pid) != oldPid && len(shimProcesses(t, revived)) > 0
	})

	// The changed key is never accepted: later checks keep refusing it.
	time.Sleep(10 * time.Second)
	f, err = s.getFleet("health")
	require.NoError(t, err)
	require.True(t, hostKeyChanged(instanceOn(f, 1)), "%v", summary(f))
	require.True(t, idleAndReachable(instanceOn(f, 0)), "%v", summary(f))
	require.True(t, idleAndReachable(instanceOn(f, 2)), "%v", summary(f))
}

// TestSSHFleetProvisioningFailures: a wrong key and an unreachable host stay
// pending with a message naming the problem and are retried; a fixed key
// (on the host, or in a re-applied spec) and a restored link get them to
// idle. A host behind a proxy jump deploys through it.
func TestSSHFleetProvisioningFailures(t *testing.T) {
	t.Parallel()
	wrongA := sshtest.NewHost(t, sshtest.Options{})
	wrongB := sshtest.NewHost(t, sshtest.Options{})
	offline := sshtest.NewHost(t, sshtest.Options{})
	jump := sshtest.NewHost(t, sshtest.Options{})
	behind := sshtest.NewHost(t, sshtest.Options{Behind: jump})
	s := startServer(t, server.Options{})

	badKey := sshtest.NewClientKey(t)
	offline.Cut()
	s.applyFleet(t, fleetSpecOf(t, "badkey", fleetHost{h: wrongA, key: badKey}, fleetHost{h: wrongB, key: badKey}))
	s.applyFleet(t, fleetSpecOf(t, "offline", fleetHost{h: offline}))
	s.applyFleet(t, fleetSpecOf(t, "jumped", fleetHost{h: behind, jump: jump}))

	t.Run("proxy jump", func(t *testing.T) {
		f := s.waitFleet(t, "jumped", 60*time.Second, allInstances(schemas.InstanceIdle))
		in := f.Instances[0]
		require.Equal(t, behind.Addr, *in.Hostname)
		requireDeployed(t, behind)
		require.Empty(t, shimProcesses(t, jump), "nothing is deployed on the jump host")
	})

	t.Run("wrong key", func(t *testing.T) {
		authFailed := func(h *sshtest.Host) func(in *schemas.Instance) bool {
			return func(in *schemas.Instance) bool {
				return in.Status == schemas.InstancePending &&
					strings.Contains(msgOf(in), "authentication failed for "+h.User+"@"+h.Addr)
			}
		}
		f := s.awaitFleet(t, "badkey", 30*time.Second, func(f *schemas.Fleet) bool {
			return instanceIs(0, authFailed(wrongA))(f) && instanceIs(1, authFailed(wrongB))(f)
		})
		t.Logf("wrong key: %s", msgOf(instanceOn(f, 0)))
		// Retried: once the host accepts the key, the next attempt deploys.
		signer, err := ssh.ParsePrivateKey(badKey)
		require.NoError(t, err)
		asUser(t, wrongA, "echo '"+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))+"' >> .ssh/authorized_keys")
		// A re-applied spec with the right key is used for a host not set up yet.
		s.applyFleet(t, fleetSpecOf(t, "badkey", fleetHost{h: wrongA, key: badKey}, fleetHost{h: wrongB}))
		f = s.waitFleet(t, "badkey", 60*time.Second, allInstances(schemas.InstanceIdle))
		require.Len(t, f.Instances, 2)
	})

	t.Run("unreachable at apply", func(t *testing.T) {
		f := s.awaitFleet(t, "offline", 40*time.Second, instanceIs(0, func(in *schemas.Instance) bool {
			return in.Status == schemas.InstancePending && strings.Contains(msgOf(in), "cannot reach "+offline.Addr)
		}))
		t.Logf("offline host: %s", msgOf(instanceOn(f, 0)))
		offline.Restore()
		s.waitFleet(t, "offline", 60*time.Second, allInstances(schemas.InstanceIdle))
		requireDeployed(t, offline)
	})
}

// TestSSHFleetMembership: deleting a fleet undeploys its hosts and forgets
// their pinned keys; a host in an active fleet is refused by another fleet;
// delete_instances removes one host; an update deploys only the added host.
func TestSSHFleetMembership(t *testing.T) {
	t.Parallel()
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	h3 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	ctx := context.Background()

	s.applyFleet(t, fleetSpecOf(t, "alpha", fleetHost{h: h1}, fleetHost{h: h2}))
	s.waitFleet(t, "alpha", 60*time.Second, allInstances(schemas.InstanceIdle))

	t.Run("a host in an active fleet is refused", func(t *testing.T) {
		spec := fleetSpecOf(t, "beta", fleetHost{h: h3}, fleetHost{h: h2})
		var plan schemas.FleetPlan
		err := s.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan)
		requireBadRequest(t, err, h2.Addr+":22 is already in")
		require.Contains(t, err.Error(), "alpha")
		err = s.Call(ctx, "/api/project/main/fleets/apply",
			schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec}}, nil)
		requireBadRequest(t, err, h2.Addr+":22 is already in")
		_, err = s.getFleet("beta")
		require.True(t, client.IsNotFound(err), "nothing is created: %v", err)

		// A host runs one shim and has one pinned key: other projects are
		// refused too, without naming this project's fleet.
		require.NoError(t, s.Call(ctx, "/api/projects/create", schemas.CreateProjectRequest{ProjectName: "other"}, nil))
		spec = fleetSpecOf(t, "alpha", fleetHost{h: h1})
		err = s.Call(ctx, "/api/project/other/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan)
		requireBadRequest(t, err, h1.Addr+":22 is already in an active fleet of another project")
	})

	t.Run("delete_instances removes one host", func(t *testing.T) {
		requireDeployed(t, h2)
		require.NoError(t, s.Call(ctx, "/api/project/main/fleets/delete_instances",
			schemas.DeleteFleetInstancesRequest{Name: "alpha", InstanceNums: []int{1}}, nil))
		f := s.awaitFleet(t, "alpha", 30*time.Second, func(f *schemas.Fleet) bool { return len(f.Instances) == 1 })
		require.Equal(t, schemas.FleetActive, f.Status)
		require.True(t, idleAndReachable(&f.Instances[0]), "%v", summary(f))
		requireCleanedUp(t, h2)
		requireDeployed(t, h1)
	})

	t.Run("delete while deploying", func(t *testing.T) {
		// The host is being set up when the fleet is deleted: the deploy's
		// outcome must not bring the instance back to idle, and the host
		// is cleaned up once the deploy ends.
		s.applyFleet(t, fleetSpecOf(t, "gamma", fleetHost{h: h2}))
		require.Eventually(t, func() bool { // the upload has begun (the hosts share our filesystem)
			_, err := os.Stat(filepath.Join(h2.Home, ".dstack", "bin"))
			return err == nil
		}, 20*time.Second, 10*time.Millisecond)
		require.NoError(t, s.Call(ctx, "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"gamma"}}, nil))
		s.waitFleetGone(t, "gamma", 30*time.Second)
		requireCleanedUp(t, h2)
	})

	t.Run("an update deploys only the added host", func(t *testing.T) {
		before, err := s.getFleet("alpha")
		require.NoError(t, err)
		kept := before.Instances[0]
		pids := shimProcesses(t, h1)
		binMtime := asUser(t, h1, "stat -c %Y.%i .dstack/bin/dstack")

		var plan schemas.FleetPlan
		spec := fleetSpecOf(t, "alpha", fleetHost{h: h1}, fleetHost{h: h3})
		require.NoError(t, s.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan))
		require.Equal(t, "update", plan.Action)
		s.applyFleet(t, spec)
		f := s.awaitFleet(t, "alpha", 60*time.Second, func(f *schemas.Fleet) bool {
			for _, in := range f.Instances {
				if in.ID == kept.ID {
					require.True(t, idleAndReachable(&in), "the kept host is left alone: %v", summary(f))
				}
			}
			return len(f.Instances) == 2 && allInstances(schemas.InstanceIdle)(f)
		})
		require.Equal(t, kept.ID, instanceOn(f, kept.InstanceNum).ID)
		require.Equal(t, pids, shimProcesses(t, h1), "the kept host's shim is not restarted")
		require.Equal(t, binMtime, asUser(t, h1, "stat -c %Y.%i .dstack/bin/dstack"), "nor its binary re-uploaded")
		requireDeployed(t, h3)
	})

	t.Run("delete cleans the hosts up and forgets their keys", func(t *testing.T) {
		require.NoError(t, s.Call(ctx, "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{"alpha"}}, nil))
		f, err := s.getFleet("alpha")
		if err == nil { // it may already be gone
			require.Equal(t, schemas.FleetTerminating, f.Status)
		}
		s.waitFleetGone(t, "alpha", 30*time.Second)
		requireCleanedUp(t, h1)
		requireCleanedUp(t, h3)
		var list []schemas.Fleet
		require.NoError(t, s.Call(ctx, "/api/project/main/fleets/list", schemas.ListProjectFleetsRequest{}, &list))
		require.Empty(t, list)

		// A host re-added after a reinstall (new host key) pins the new key:
		// the old pin went with the fleet.
		h1.RegenerateHostKey()
		s.applyFleet(t, fleetSpecOf(t, "alpha", fleetHost{h: h1}, fleetHost{h: h3}))
		f = s.waitFleet(t, "alpha", 60*time.Second, allInstances(schemas.InstanceIdle))
		require.Len(t, f.Instances, 2)
		requireDeployed(t, h1)
	})
}
