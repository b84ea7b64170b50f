package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

const schemasTestdata = "../../testdata/schemas"

// readFixture returns the raw JSON at path (a list of object keys) inside a fixture file.
func readFixture(t *testing.T, file string, path ...string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(schemasTestdata, file))
	require.NoError(t, err)
	for _, key := range path {
		var obj map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &obj))
		require.Contains(t, obj, key)
		raw = obj[key]
	}
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, raw))
	return buf.Bytes()
}

// roundTrip decodes raw into a fresh T, re-encodes it, and checks that a second
// decode→encode gives the same bytes.
func roundTrip[T any](t *testing.T, raw []byte) (T, string) {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	var again T
	require.NoError(t, json.Unmarshal(out, &again))
	out2, err := json.Marshal(again)
	require.NoError(t, err)
	require.Equal(t, string(out), string(out2), "decode→encode is not stable")
	return v, string(out)
}

// objectKeys returns the keys of a JSON object in order.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	n, err := decode.ParseJSON(raw)
	require.NoError(t, err)
	return n.Keys
}

// TestRunPlanGolden round-trips the canonical `runs/get_plan` body of reference §5 (with the
// abridged null ProfileParams written out): the configuration and profile must come back
// byte for byte — same field names, order and number formatting.
func TestRunPlanGolden(t *testing.T) {
	const file = "runs_get_plan_task.json"
	t.Run("configuration", func(t *testing.T) {
		raw := readFixture(t, file, "run_spec", "configuration")
		rc, out := roundTrip[RunConfiguration](t, raw)
		require.NotNil(t, rc.Task)
		require.Equal(t, string(raw), out)
		require.NoError(t, rc.Validate())
		// Field-complete: every Go field is on the wire (nodes/groups only when set).
		want := append([]string{"nodes", "groups"}, objectKeys(t, raw)...)
		require.Equal(t, want, decode.FieldNames(rc.Task))
	})
	t.Run("profile", func(t *testing.T) {
		raw := readFixture(t, file, "run_spec", "profile")
		p, out := roundTrip[Profile](t, raw)
		require.Equal(t, string(raw), out)
		require.Equal(t, objectKeys(t, raw), decode.FieldNames(&p))
	})
	t.Run("merged profile", func(t *testing.T) {
		var rc RunConfiguration
		require.NoError(t, json.Unmarshal(readFixture(t, file, "run_spec", "configuration"), &rc))
		var p Profile
		require.NoError(t, json.Unmarshal(readFixture(t, file, "run_spec", "profile"), &p))
		m := MergeRunProfile(&p, *rc.Params())
		require.Equal(t, "default", m.Name)
		require.Equal(t, CreationPolicyReuseOrCreate, *m.CreationPolicy)
		limit, ok := m.ResolvedMaxDuration()
		require.True(t, ok)
		require.Equal(t, Duration(7200), limit)
		require.Equal(t, &ProfileRetry{OnEvents: []RetryEvent{RetryEventNoCapacity}, Duration: ptr(Duration(3600))}, m.ResolvedRetry())
		require.Nil(t, p.CreationPolicy, "MergeRunProfile must not change its input")
	})
}

// TestFleetPlanGolden round-trips an SSH fleet `fleets/get_plan` spec (string and object
// hosts, blocks "auto", uploaded keys).
func TestFleetPlanGolden(t *testing.T) {
	const file = "fleets_get_plan_ssh.json"
	raw := readFixture(t, file, "spec", "configuration")
	c, out := roundTrip[FleetConfiguration](t, raw)
	require.Equal(t, string(raw), out)
	require.Equal(t, objectKeys(t, raw), decode.FieldNames(&c))
	require.NoError(t, c.Validate())
	require.NoError(t, c.ValidateSSHCredentials())

	stripped, err := json.Marshal(c.WithoutSSHKeys())
	require.NoError(t, err)
	require.NotContains(t, string(stripped), "PRIVATE KEY")
	require.Contains(t, string(stripped), `"ssh_key":null`)
	require.NotNil(t, c.SSHConfig.SSHKey, "WithoutSSHKeys must not change its receiver")

	p, pout := roundTrip[Profile](t, readFixture(t, file, "spec", "profile"))
	require.Equal(t, string(readFixture(t, file, "spec", "profile")), pout)
	m := MergeFleetProfile(p, c)
	require.Equal(t, SpotPolicyOnDemand, *m.SpotPolicy)
	require.Equal(t, RetryConfig{}, *m.Retry)
	require.Nil(t, m.ResolvedRetry())
}

func TestRunConfigurationUnion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		wantType string
		wantErr  string
	}{
		{name: "task", in: `{"type": "task", "commands": ["x"]}`, wantType: "task"},
		{name: "service", in: `{"type": "service", "port": 80, "image": "nginx"}`, wantType: "service"},
		{name: "dev environment", in: `{"type": "dev-environment", "ide": "vscode"}`, wantType: "dev-environment"},
		{name: "unknown fields ignored in JSON", in: `{"type": "task", "commands": ["x"], "future_field": 1}`, wantType: "task"},
		{name: "missing type", in: `{"commands": ["x"]}`, wantErr: "type: field required; accepted: dev-environment, task, service"},
		{name: "fleet is not a run", in: `{"type": "fleet"}`, wantErr: `type: invalid run configuration type "fleet"`},
		{name: "not an object", in: `[]`, wantErr: "expected a configuration object"},
		{name: "bad field", in: `{"type": "task", "resources": {"gpu": "A100:x:2"}}`, wantErr: `resources.gpu: "A100:x:2": more than one GPU name token`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rc RunConfiguration
			err := json.Unmarshal([]byte(tc.in), &rc)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantType, rc.Type())
			require.NotNil(t, rc.Base())
			require.NotNil(t, rc.Params())
			back, ok := RunConfigurationOf(rc.Get())
			require.True(t, ok)
			require.Equal(t, rc.Type(), back.Type())
		})
	}
}

func TestPatchForClient(t *testing.T) {
	const svc = `{"type": "service", "port": 80, "image": "nginx", "gateway": "team/gw", "fleets": ["team/f"]}`
	for _, tc := range []struct {
		name     string
		in       string
		client   string // "" = unknown version
		contains []string
		excludes []string
	}{
		{name: "unknown client: nothing", in: `{"type": "task", "commands": ["x"]}`, excludes: []string{`"nodes"`}},
		{name: "task nodes for any client", in: `{"type": "task", "commands": ["x"]}`, client: "0.21.2", contains: []string{`"nodes":1`}},
		{name: "task groups keep nodes unset", in: `{"type": "task", "groups": [{"commands": ["x"]}]}`, client: "0.21.2", contains: []string{`{"groups":[{"name":"0","nodes":1,`}},
		{name: "new client keeps objects", in: svc, client: "0.21.0", contains: []string{`"probes":null`, `"https":null`, `"gateway":{"project":"team","name":"gw"}`, `"fleets":[{"project":"team","name":"f"}]`}},
		{name: "0.20.13", in: svc, client: "0.20.13", contains: []string{`"gateway":"team/gw"`, `"fleets":["team/f"]`, `"https":null`}},
		{name: "0.20.7", in: svc, client: "0.20.7", contains: []string{`"probes":[]`, `"https":true`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rc RunConfiguration
			require.NoError(t, json.Unmarshal([]byte(tc.in), &rc))
			var before func(string) bool
			if tc.client != "" {
				before = func(v string) bool { return versionLess(tc.client, v) }
			}
			rc.PatchForClient(before)
			out, err := json.Marshal(rc)
			require.NoError(t, err)
			for _, s := range tc.contains {
				require.Contains(t, string(out), s)
			}
			for _, s := range tc.excludes {
				require.NotContains(t, string(out), s)
			}
		})
	}
}

// versionLess compares dotted numeric versions (enough for the test's fixed inputs).
func versionLess(a, b string) bool {
	var x, y [3]int
	_, _ = fmt.Sscanf(a, "%d.%d.%d", &x[0], &x[1], &x[2])
	_, _ = fmt.Sscanf(b, "%d.%d.%d", &y[0], &y[1], &y[2])
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// TestLenientJSON: the server ignores unknown fields at every level and treats null in a
// non-nullable field as "use the default".
func TestLenientJSON(t *testing.T) {
	var c FleetConfiguration
	require.NoError(t, json.Unmarshal([]byte(`{"type": "fleet", "nodes": 1, "blocks": null, "env": null,
		"autocreated": true, "resources": {"gpu": {"name": "A100", "extra": 1}, "future": {}}}`), &c))
	require.Equal(t, Blocks{N: 1}, c.Blocks)
	require.Equal(t, []string{"A100"}, c.Resources.GPU.Name)

	var rc RunConfiguration
	require.NoError(t, json.Unmarshal([]byte(`{"type": "task", "image": "x", "commands": null, "volumes": null,
		"home_dir": null, "privileged": null, "env": null}`), &rc))
	out, err := json.Marshal(rc)
	require.NoError(t, err)
	for _, s := range []string{`"commands":[]`, `"volumes":[]`, `"home_dir":"/root"`, `"privileged":false`, `"env":{}`} {
		require.Contains(t, string(out), s)
	}

	var built TaskConfiguration // built in code, not decoded: lists still encode as []
	built.Type = ConfigurationTypeTask
	out, err = json.Marshal(built)
	require.NoError(t, err)
	require.Contains(t, string(out), `"ports":[],"commands":[]`)
	require.Contains(t, string(out), `"setup":[]`)
}

// TestCodecCoverage: every wire type decodes through the package's rules with both
// encoding/json and yaml.v3.
func TestCodecCoverage(t *testing.T) {
	for _, v := range []any{
		new(IntRange), new(MemoryRange), new(Memory), new(Duration), new(OffableDuration), new(IdleDuration),
		new(ComputeCapability), new(Env), new(PortMapping), new(ServicePort), new(EntityReference),
		new(ResourcesSpec), new(CPUSpec), new(GPUSpec), new(DiskSpec), new(CPUArch), new(GPUVendor),
		new(Profile), new(RetryConfig), new(ProfileRetry), new(UtilizationPolicy), new(Schedule),
		new(InstanceSelector), new(BackendProfileOptions),
		new(RunConfiguration), new(TaskConfiguration), new(ServiceConfiguration), new(DevEnvironmentConfiguration),
		new(NodeGroup), new(ReplicaGroup), new(ServiceReplicas), new(ServiceGateway), new(ServiceHTTPS),
		new(ServiceModel), new(ScalingSpec), new(RateLimit), new(RateLimitKey), new(ProbeConfig), new(HTTPHeaderSpec),
		new(RouterConfig), new(RegistryAuth), new(PythonVersion), new(RepoSpec), new(FilePathMapping), new(MountPoint),
		new(InstanceMountPoint), new(FleetConfiguration), new(FleetNodesSpec), new(Blocks), new(SSHParams),
		new(SSHHost), new(SSHHostParams), new(SSHProxyParams), new(SSHKey),
	} {
		_, isJSON := v.(json.Unmarshaler)
		_, isYAML := v.(yaml.Unmarshaler)
		require.True(t, isJSON && isYAML, "%T lacks UnmarshalJSON or UnmarshalYAML", v)
	}
}

func TestServiceValidate(t *testing.T) {
	const grp = `{"name": "g", "count": 1, "commands": ["x"]}`
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "fixed replicas", in: `{"port": 80, "image": "i", "replicas": 2}`},
		{name: "range with scaling", in: `{"port": 80, "image": "i", "replicas": "0..4", "scaling": {"metric": "rps", "target": 1}}`},
		{name: "groups", in: `{"port": 80, "groups": [` + grp + `, {"replicas": "1..2", "scaling": {"metric": "rps", "target": 2}, "image": "j"}]}`},
		{name: "scaling without range", in: `{"port": 80, "image": "i", "replicas": 2, "scaling": {"metric": "rps", "target": 1}}`, wantErr: "scaling: to use `scaling`, `replicas` must be a range"},
		{name: "open max", in: `{"port": 80, "image": "i", "replicas": "1..", "scaling": {"metric": "rps", "target": 1}}`, wantErr: "replicas: the maximum number of replicas is required"},
		{name: "window", in: `{"port": 80, "image": "i", "replicas": "0..2", "scaling": {"metric": "rps", "target": 1, "window": "45s"}}`, wantErr: "scaling.window: invalid window 45s; accepted: 30s, 60s, 300s"},
		{name: "replicas and groups", in: `{"port": 80, "replicas": 1, "groups": [` + grp + `]}`, wantErr: "groups: `replicas` and `groups` are mutually exclusive"},
		{name: "top-level scaling with groups", in: `{"port": 80, "scaling": {"metric": "rps", "target": 1}, "groups": [` + grp + `]}`, wantErr: "scaling: top-level `scaling` is not allowed"},
		{name: "mixed image", in: `{"port": 80, "image": "i", "groups": [{"count": 1, "image": "j"}]}`, wantErr: "groups[0].image: `image` is set both at the service level and in the replica group"},
		{name: "conflicting sources", in: `{"port": 80, "image": "i", "groups": [{"count": 1, "docker": true}]}`, wantErr: "groups[0].docker: service-level `image` conflicts with group-level `docker`"},
		{name: "duplicate group names", in: `{"port": 80, "groups": [` + grp + `, ` + grp + `]}`, wantErr: `groups[1].name: duplicate replica group name "g"`},
		{name: "router replicas", in: `{"port": 80, "groups": [{"count": 2, "commands": ["x"], "router": {}}]}`, wantErr: "groups[0].count: a replica group with `router` must have exactly 1 replica"},
		{name: "group needs commands", in: `{"port": 80, "groups": [{"count": 1}]}`, wantErr: `groups[0].commands: replica group "0": either`},
		{name: "probe body with get", in: `{"port": 80, "image": "i", "probes": [{"type": "http", "method": "get", "body": "x"}]}`, wantErr: "probes[0].body: cannot set a request body for the `get` method"},
		{name: "duplicate probes", in: `{"port": 80, "image": "i", "probes": [{"type": "http"}, {"type": "http"}]}`, wantErr: "probes: probes must be unique"},
		{name: "rate limit prefix", in: `{"port": 80, "image": "i", "rate_limits": [{"prefix": "/a b", "rps": 1}]}`, wantErr: `rate_limits[0].prefix: invalid prefix "/a b"`},
		{name: "duplicate rate limits", in: `{"port": 80, "image": "i", "rate_limits": [{"rps": 1}, {"rps": 2}]}`, wantErr: `rate_limits: prefix "/" is used more than once`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c ServiceConfiguration
			err := json.Unmarshal([]byte(`{"type": "service", `+tc.in[1:]), &c)
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
