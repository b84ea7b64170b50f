package schemas

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// updateConfigGolden rewrites testdata/schemas/configs/*.json from the parser's output.
var updateConfigGolden = flag.Bool("update-configs", false, "rewrite the configuration golden files")

// TestParseConfigurationGolden parses every testdata/schemas/configs/*.dstack.yml and compares
// the canonical JSON with the golden file beside it; the golden JSON must also decode back
// (as the server would receive it) to the same bytes.
func TestParseConfigurationGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(schemasTestdata, "configs", "*.dstack.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".dstack.yml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			conf, err := ParseConfigurationYAML(data, filepath.Base(file))
			require.NoError(t, err)
			got, err := json.MarshalIndent(conf, "", "  ")
			require.NoError(t, err)
			golden := strings.TrimSuffix(file, ".dstack.yml") + ".json"
			if *updateConfigGolden {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestParseConfigurationGolden -update-configs")
			require.Equal(t, strings.TrimSpace(string(want)), string(got))

			fresh := newConfigurationOfType(t, conf.ConfigurationType())
			require.NoError(t, json.Unmarshal(want, fresh))
			again, err := json.MarshalIndent(fresh, "", "  ")
			require.NoError(t, err)
			require.Equal(t, string(got), string(again))
		})
	}
}

func newConfigurationOfType(t *testing.T, typ string) AnyConfiguration {
	switch typ {
	case ConfigurationTypeTask:
		return &TaskConfiguration{}
	case ConfigurationTypeService:
		return &ServiceConfiguration{}
	case ConfigurationTypeDevEnvironment:
		return &DevEnvironmentConfiguration{}
	case ConfigurationTypeFleet:
		return &FleetConfiguration{}
	}
	require.FailNow(t, fmt.Sprintf("unexpected type %q", typ))
	return nil
}

// TestParseConfigurationErrors checks that errors name the file, the line and the field.
func TestParseConfigurationErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want string
	}{
		{name: "gpu grammar", yaml: "type: fleet\nname: gpus\nnodes: 1\nresources:\n  cpu: 4\n  memory: 16GB..\n  gpu: A100:x:2\n",
			want: `fleet.dstack.yml:7: resources.gpu: "A100:x:2": more than one GPU name token (A100, x); accepted:`},
		{name: "typo suggests", yaml: "type: task\nimage: ubuntu\ncomands: [x]\n",
			want: `fleet.dstack.yml:3: comands: unknown field "comands" (did you mean "commands"?)`},
		{name: "unknown nested key lists small objects", yaml: "type: task\ncommands: [x]\nretry:\n  on_event: [error]\n",
			want: `fleet.dstack.yml:4: retry.on_event: unknown field "on_event"; accepted: on_events, duration`},
		{name: "enum", yaml: "type: task\ncommands: [x]\nspot_policy: cheap\n",
			want: `fleet.dstack.yml:3: spot_policy: invalid value "cheap"; accepted: spot, on-demand, auto`},
		{name: "list item", yaml: "type: task\ncommands: [x]\nports:\n  - 8080\n  - 99999\n",
			want: `fleet.dstack.yml:5: ports[1]: container_port 99999 is out of range 1..65535`},
		{name: "validate error gets the key line", yaml: "type: task\nname: Bad_Name\ncommands: [x]\n",
			want: `fleet.dstack.yml:2: name: invalid run name "Bad_Name"; it must match ^[a-z][a-z0-9-]{1,40}$`},
		{name: "commands or image", yaml: "type: task\nname: empty\n",
			want: "fleet.dstack.yml:1: commands: either `commands` or `image` must be set"},
		{name: "service port required", yaml: "type: service\nimage: nginx\n",
			want: "fleet.dstack.yml:1: port: field required"},
		{name: "replicas range needs scaling", yaml: "type: service\nport: 80\nimage: nginx\nreplicas: 0..2\n",
			want: "fleet.dstack.yml:4: replicas: a range of replicas (0..2) requires `scaling`"},
		{name: "nodes and groups", yaml: "type: task\nnodes: 2\ngroups:\n  - commands: [x]\n",
			want: "fleet.dstack.yml:3: groups: `nodes` and `groups` are mutually exclusive"},
		{name: "group name", yaml: "type: task\ngroups:\n  - commands: [x]\n  - name: Workers\n    commands: [y]\n",
			want: `fleet.dstack.yml:4: groups[1].name: invalid node group name "Workers"`},
		{name: "fleet kind", yaml: "type: fleet\nname: both\n",
			want: "fleet.dstack.yml: no ssh_config or nodes specified"},
		{name: "fleet exclusive", yaml: "type: fleet\nnodes: 1\nssh_config:\n  hosts: [a]\n",
			want: "fleet.dstack.yml:2: nodes: `ssh_config` and `nodes` are mutually exclusive"},
		{name: "ssh fleet rejects cloud fields", yaml: "type: fleet\nssh_config:\n  hosts: [a]\nbackends: [aws]\n",
			want: "fleet.dstack.yml:4: backends: SSH fleet configuration does not support the following fields: backends"},
		{name: "internal ip all or none", yaml: "type: fleet\nssh_config:\n  hosts:\n    - hostname: a\n      internal_ip: 10.0.0.1\n    - b\n",
			want: "fleet.dstack.yml:3: ssh_config.hosts: internal_ip must be specified for all hosts or for none"},
		{name: "public internal ip", yaml: "type: fleet\nssh_config:\n  hosts:\n    - hostname: a\n      internal_ip: 8.8.8.8\n",
			want: "fleet.dstack.yml:5: ssh_config.hosts[0].internal_ip: IP address 8.8.8.8 is not private"},
		{name: "nodes order", yaml: "type: fleet\nnodes:\n  min: 3\n  max: 1\n",
			want: "fleet.dstack.yml:4: nodes.max: max must not be less than min"},
		{name: "cron", yaml: "type: task\ncommands: [x]\nschedule:\n  cron: [\"0 25 * * *\"]\n",
			want: `fleet.dstack.yml:4: schedule.cron[0]: invalid cron expression "0 25 * * *": hour field "25": 25 is out of range 0-23`},
		{name: "duplicate key", yaml: "type: task\ncommands: [x]\ncommands: [y]\n",
			want: "fleet.dstack.yml:3: commands: duplicate key"},
		{name: "yaml syntax", yaml: "type: task\nname: a\n  image: b\n",
			want: "fleet.dstack.yml:3: invalid YAML: mapping values are not allowed in this context"},
		{name: "unsupported type", yaml: "type: volume\n",
			want: `fleet.dstack.yml:1: type: "volume" configurations are not supported yet`},
		{name: "missing type", yaml: "name: x\n",
			want: "fleet.dstack.yml:1: type: field required; accepted: dev-environment, task, service, fleet"},
		{name: "empty", yaml: "# nothing\n",
			want: "fleet.dstack.yml: the configuration is empty"},
		{name: "dev entrypoint", yaml: "type: dev-environment\nide: vscode\nentrypoint: bash\n",
			want: "fleet.dstack.yml:3: entrypoint: entrypoint is not supported for dev-environment"},
		{name: "image and python", yaml: "type: task\nimage: ubuntu\npython: 3.12\ncommands: [x]\n",
			want: "fleet.dstack.yml:3: python: `image` and `python` are mutually exclusive fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfigurationYAML([]byte(tc.yaml), "fleet.dstack.yml")
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tc.want), "got: %s\nwant prefix: %s", err, tc.want)
			var ce *ConfigurationError
			require.ErrorAs(t, err, &ce)
		})
	}
}

// TestYAML11Compatibility: plain yes/no/on/off are booleans, as for the upstream CLI's parser.
func TestYAML11Compatibility(t *testing.T) {
	conf, err := ParseConfigurationYAML([]byte("type: task\nimage: x\nretry: yes\nmax_duration: Off\nprivileged: ON\nuser: 'on'\n"), "t.yml")
	require.NoError(t, err)
	task := conf.(*TaskConfiguration)
	require.True(t, task.Retry.Enabled)
	require.Equal(t, DurationOff(), task.MaxDuration)
	require.True(t, task.Privileged)
	require.Equal(t, "on", *task.User)

	_, err = ParseConfigurationYAML([]byte("type: task\nimage: x\nname: no\n"), "t.yml")
	require.EqualError(t, err, "t.yml:3: name: expected a string, got boolean false")
}

func TestServiceModelForms(t *testing.T) {
	runScalarCases[ServiceModel](t, []scalarCase{
		{name: "name", in: `"llama"`, want: `{"type":"chat","name":"llama","format":"openai","prefix":"/v1"}`},
		{name: "tgi", in: `{"name": "m", "format": "tgi", "eos_token": "</s>"}`, want: `{"type":"chat","name":"m","format":"tgi","chat_template":null,"eos_token":"\u003c/s\u003e"}`},
		{name: "openai prefix", in: `{"name": "m", "format": "openai", "prefix": "/api"}`, want: `{"type":"chat","name":"m","format":"openai","prefix":"/api"}`},
		{name: "bad format", in: `{"name": "m", "format": "vllm"}`, wantErr: `format: invalid model format "vllm"; accepted: openai, tgi`},
		{name: "prefix with tgi", in: `{"name": "m", "format": "tgi", "prefix": "/x"}`, wantErr: "prefix: prefix is only accepted with format: openai"},
	})
}
