package cli_test

// The official dstack CLI 0.21.2 against the built binary as its server,
// verb by verb, on namespaced SSH hosts: exit codes and the kind of output
// upstream's server gives it.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

func TestOfficialCLI(t *testing.T) {
	env := newOfficialEnv(t)

	t.Run("project", func(t *testing.T) {
		t.Parallel()
		testOfficialProjectVerbs(t, env)
	})
	t.Run("secret", func(t *testing.T) {
		t.Parallel()
		testOfficialSecretVerbs(t, env)
	})
	t.Run("event", func(t *testing.T) {
		t.Parallel()
		testOfficialEventVerbs(t, env)
	})
	t.Run("login and completion", func(t *testing.T) {
		t.Parallel()
		// `dstack server` points the client config of its user at itself:
		// the CLI works there at once.
		own := &officialCLI{t: t, bin: officialCLIBinary(t), Home: env.Server.Home, Dir: env.Server.Home}
		own.Check(own.Run("ps"), 0, "NAME")
		c := env.CLI(t)
		// An open-source server has no SSO provider: the CLI says so.
		c.Check(c.Run("login", "--url", env.Server.URL, "-y"), 1, "No SSO providers configured on the server.")
		c.Check(c.Run("completion", "bash"), 0, "_python_argcomplete", "dstack")
	})
	t.Run("fleet", func(t *testing.T) {
		t.Parallel()
		testOfficialFleetVerbs(t, env)
	})
	t.Run("fleet shapes", func(t *testing.T) {
		t.Parallel()
		testOfficialFleetShapes(t, env)
	})
	t.Run("runs", func(t *testing.T) {
		t.Parallel()
		testOfficialRunVerbs(t, env)
	})
	t.Run("volumes, gateways, exports and imports", func(t *testing.T) {
		t.Parallel()
		testOfficialSharing(t, env)
	})
}

func testOfficialProjectVerbs(t *testing.T, env *officialEnv) {
	c := env.CLI(t)
	require.NoError(t, os.Remove(filepath.Join(c.Home, ".dstack", "config.yml")), "a user who never added a project")
	c.Check(c.Run("ps"), 1, "No default project")
	c.Want(0, "project", "add", "--name", "main", "--url", env.Server.URL, "--token", env.Server.Token, "-y")
	c.Check(c.Run("project", "list"), 0, "main", env.Server.URL)
	// A project the server does not have: upstream's answer is a 404.
	c.Check(c.Run("project", "add", "--name", "nope", "--url", env.Server.URL, "--token", env.Server.Token, "-y"), 1,
		"Status code 404 when requesting "+env.Server.URL+"/api/projects/nope/get")
	c.Check(c.Run("project", "add", "--name", "main", "--url", env.Server.URL, "--token", "wrong-token", "-y"), 1)

	api(t, env.Server.URL, env.Server.Token, "/api/projects/create", map[string]any{"project_name": "second"}, nil)
	c.Want(0, "project", "add", "--name", "second", "--url", env.Server.URL, "--token", env.Server.Token, "-n")
	list := c.Want(0, "project", "list").Stdout
	require.Regexp(t, `main\s+\S+\s+✓`, list, "main stays the default with -n")
	c.Want(0, "project", "set-default", "second")
	require.Regexp(t, `second\s+\S+\s+✓`, c.Want(0, "project").Stdout)
	c.Check(c.Run("ps"), 0, "NAME") // verbs go to the new default project
	c.Want(0, "project", "delete", "--name", "second", "-y")
	require.NotContains(t, c.Want(0, "project", "list").Stdout, "second")
	c.Check(c.Run("project", "set-default", "second"), 1, "not found")
}

func testOfficialSecretVerbs(t *testing.T, env *officialEnv) {
	c := env.CLI(t)
	c.Check(c.Run("secret", "set", "hf_token", "s3cr3t-value"), 0, "OK")
	c.Check(c.Run("secret", "list"), 0, "hf_token", "******")
	require.NotContains(t, c.Want(0, "secret", "list").Stdout, "s3cr3t-value")
	c.Check(c.Run("secret", "get", "hf_token"), 0, "s3cr3t-value")
	c.Check(c.Run("secret", "set", "hf_token", "second-value"), 0, "OK")
	c.Check(c.Run("secret", "get", "hf_token"), 0, "second-value")
	c.Check(c.Run("secret", "delete", "hf_token", "-y"), 0, "OK")
	require.NotContains(t, c.Want(0, "secret", "list").Stdout, "hf_token")
	c.Check(c.Run("secret", "get", "hf_token"), 1, "Secret hf_token not found")
}

// testOfficialFleetVerbs applies a fleet of two hosts, the first a string
// using the top-level user and identity_file, the second an object with its
// own (each test host has a user of its own), and works with it.
func testOfficialFleetVerbs(t *testing.T, env *officialEnv) {
	h1, h2 := sshtest.NewHost(t, sshtest.Options{}), sshtest.NewHost(t, sshtest.Options{})
	c := env.CLIFor(t, env.NewProject(t, "lab"), env.Server.Token)
	out := c.ApplyFleet("lab", []*sshtest.Host{h1, h2}).Stdout
	require.Contains(t, out, "ssh (remote)")

	// The same configuration again: nothing to change.
	path := c.WriteFile("lab.dstack.yml", c.sshFleetYAML("lab", []*sshtest.Host{h1, h2}))
	c.Check(c.Run("apply", "-f", path, "-y"), 0, "No configuration changes detected. Use --force to apply anyway.")

	for _, args := range [][]string{{"fleet"}, {"fleet", "list"}} {
		r := c.Want(0, args...)
		require.Contains(t, r.Stdout, "lab")
		require.Equal(t, 2, strings.Count(r.Stdout, " idle "), r)
	}
	var f struct {
		Name      string `json:"name"`
		Status    string `json:"status"`
		Instances []struct {
			Status string `json:"status"`
		} `json:"instances"`
	}
	get := c.Want(0, "fleet", "get", "lab", "--json")
	require.NoError(t, json.Unmarshal([]byte(get.Stdout), &f), get)
	require.Equal(t, "lab", f.Name)
	require.Equal(t, "active", f.Status)
	require.Len(t, f.Instances, 2)
	require.NotContains(t, get.Stdout, "PRIVATE KEY", "the fleet's keys never come back")
	c.Check(c.Run("fleet", "get", "nope", "--json"), 1, "name='nope' not found")
	c.Check(c.Run("fleet", "delete", "nope", "-y"), 1, "Fleet nope does not exist")

	c.Check(c.Run("fleet", "delete", "lab", "-i", "1", "-y"), 0, "Fleet lab instances deleted")
	waitFor(t, "instance 1 of lab gone", func() (bool, string) {
		r := c.Want(0, "fleet", "get", "lab", "--json")
		f.Instances = nil
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &f), r)
		return len(f.Instances) == 1, r.Stdout
	})

	// What happened to the fleet and its hosts, and who did it (the
	// official CLI looks the fleet up by name, so while it exists).
	c.Check(c.Run("event", "--within-fleet", "lab"), 0,
		"[fleet lab] Fleet created. Status: ACTIVE",
		"[instance lab-0] Instance created on fleet submission. Status: PENDING",
		"[instance lab-0] Instance status changed PENDING -> IDLE",
		"[instance lab-1] Instance status changed IDLE -> TERMINATING. Termination reason: TERMINATED_BY_USER")

	c.Check(c.Run("fleet", "delete", "lab", "-y"), 0, "Fleet lab deleted")
	require.NotContains(t, c.Want(0, "fleet").Stdout, "lab")
}

// testOfficialEventVerbs reads events with `dstack event`: a user's own
// actions on secrets, filtered by target, type and time.
func testOfficialEventVerbs(t *testing.T, env *officialEnv) {
	c := env.CLIFor(t, env.NewProject(t, "events"), env.Server.Token)
	c.Want(0, "secret", "set", "ev_token", "one")
	c.Want(0, "secret", "set", "ev_token", "two")
	c.Want(0, "secret", "set", "other", "x")
	r := c.Want(0, "event")
	for _, want := range []string{"[👤admin] [project events] Project created", "[👤admin] [secret ev_token] Secret created",
		"[👤admin] [secret ev_token] Secret updated", "[👤admin] [secret other] Secret created"} {
		require.Contains(t, r.Stdout, want, r)
	}
	require.Less(t, strings.Index(r.Stdout, "Secret created"), strings.Index(r.Stdout, "Secret updated"), "oldest first")
	r = c.Want(0, "event", "--target-secret", "ev_token")
	require.NotContains(t, r.Stdout, "other", r)
	require.Equal(t, 2, strings.Count(r.Stdout, "[secret ev_token]"), r)
	r = c.Want(0, "event", "--include-target-type", "project", "--since", "1h")
	require.Contains(t, r.Stdout, "Project created", r)
	require.NotContains(t, r.Stdout, "Secret", r)
	r = c.Want(0, "event", "list", "--since", "2000-01-01T00:00:00Z", "--target-secret", "other")
	require.Contains(t, r.Stdout, "[secret other] Secret created", r)
	// Another project's events are not in this one's list.
	require.NotContains(t, c.Want(0, "event").Stdout, "hf_token")
	c.Check(c.Run("event", "--include-target-type", "cluster"), 2, "invalid EventTargetType value: 'cluster'")
}

// testOfficialFleetShapes applies fleets of other shapes: a host reached
// through a proxy jump (and a short task attached on it, through the jump),
// and a cluster.
func testOfficialFleetShapes(t *testing.T, env *officialEnv) {
	project := env.NewProject(t, "shapes")
	t.Run("proxy_jump", func(t *testing.T) {
		t.Parallel()
		c := env.CLIFor(t, project, env.Server.Token)
		jump := sshtest.NewHost(t, sshtest.Options{})
		behind := sshtest.NewHost(t, sshtest.Options{Behind: jump})
		yaml := fmt.Sprintf("type: fleet\nname: jumped\nenv:\n  DSTACK_SHIM_EXECUTOR: process\n"+
			"ssh_config:\n  user: %s\n  identity_file: %s\n  proxy_jump:\n    hostname: %s\n    user: %s\n    identity_file: %s\n"+
			"  hosts:\n    - %s\n", behind.User, c.WriteKey(behind), jump.Addr, jump.User, c.WriteKey(jump), behind.Addr)
		r := c.Run("apply", "-f", c.WriteFile("jumped.dstack.yml", yaml), "-y")
		c.Check(r, 0, "Fleet jumped does not exist yet.", " idle ")

		// The CLI has no key for a jump host: as upstream says, the user's
		// ~/.ssh/config must name one.
		c.WriteFile(filepath.Join(c.Home, ".ssh", "config"), fmt.Sprintf("Host %s\n    IdentityFile %s\n", jump.Addr, c.WriteKey(jump)))
		task := c.WriteFile("jumped-task.dstack.yml", "type: task\nname: through-jump\nfleets: [jumped]\n"+
			"commands:\n  - echo behind the jump\n"+taskResources)
		c.Check(c.Run("apply", "-f", task, "-y"), 0, "behind the jump\n", "Exited (0)")
		c.Check(c.Run("fleet", "delete", "jumped", "-y"), 0, "Fleet jumped deleted")
	})
	t.Run("placement cluster", func(t *testing.T) {
		t.Parallel()
		c := env.CLIFor(t, project, env.Server.Token)
		h1, h2 := sshtest.NewHost(t, sshtest.Options{}), sshtest.NewHost(t, sshtest.Options{})
		r := c.ApplyFleet("cluster", []*sshtest.Host{h1, h2}, "placement: cluster")
		require.Regexp(t, `Placement\s+cluster`, r.Stdout)
		var f struct {
			Spec struct {
				Configuration struct {
					Placement string `json:"placement"`
				} `json:"configuration"`
			} `json:"spec"`
		}
		get := c.Want(0, "fleet", "get", "cluster", "--json")
		require.NoError(t, json.Unmarshal([]byte(get.Stdout), &f), get)
		require.Equal(t, "cluster", f.Spec.Configuration.Placement)
		c.Check(c.Run("delete", "-f", filepath.Join(c.Dir, "cluster.dstack.yml"), "-y"), 0, "Fleet cluster deleted")
	})
}
