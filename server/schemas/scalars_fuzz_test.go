package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// FuzzParseGPU: the gpu grammar never panics, errors always explain themselves, and an
// accepted spec re-encodes to JSON that decodes to the same spec.
func FuzzParseGPU(f *testing.F) {
	for _, s := range []string{"A100:2", "24GB..", "A100:40GB..:2", "nvidia:16GB:1..2", "tpu:v5e-8", "0",
		"H100,A100:8", "A100:x:2", "::", "1TB..:..8", "tt:n150:0..", "é:1", "16XB", "-1..1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGPUSpec(s)
		if err != nil {
			require.True(t, strings.TrimSpace(err.Error()) != "", "empty error for %q", s)
			return
		}
		out, err := json.Marshal(g)
		require.NoError(t, err, "marshal %q", s)
		var back GPUSpec
		require.NoError(t, json.Unmarshal(out, &back), "re-decode %s (from %q)", out, s)
		again, _ := json.Marshal(back)
		require.False(t, utf8.ValidString(s) && string(again) != string(out), "round trip of %q: %s != %s", s, again, out)
		_ = g.String()
	})
}

// FuzzParseRange: ranges (counts and sizes, JSON and YAML input) never panic, errors are
// never empty, and accepted ranges are ordered and round-trip.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{`"1..4"`, `"2.."`, `"..8"`, `4`, `"24GB..80GB"`, `{"min": 1}`, `".."`,
		`"4..2"`, `"1..2..3"`, `1e400`, `-3`, `"0.5TB"`, `{"min": "1GB", "max": null}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRangeInput[int](t, s)
		checkRangeInput[Memory](t, s)
	})
}

func checkRangeInput[T RangeBound](t *testing.T, s string) {
	var fromJSON, fromYAML Range[T]
	for _, err := range []error{json.Unmarshal([]byte(s), &fromJSON), yaml.Unmarshal([]byte(s), &fromYAML)} {
		require.False(t, err != nil && strings.TrimSpace(err.Error()) == "", "empty error for %q", s)
	}
	if err := json.Unmarshal([]byte(s), &fromJSON); err != nil {
		return
	}
	require.False(t, fromJSON.Min != nil && fromJSON.Max != nil && *fromJSON.Min > *fromJSON.Max, "accepted reversed range %q", s)
	out, err := json.Marshal(fromJSON)
	require.NoError(t, err, "marshal %q", s)
	var back Range[T]
	require.NoError(t, json.Unmarshal(out, &back), "re-decode %s (from %q)", out, s)
	_ = back.String()
}

// FuzzParseConfigurationYAML: arbitrary configuration files never panic the parser, and
// every error names the file.
func FuzzParseConfigurationYAML(f *testing.F) {
	for _, s := range []string{
		"type: task\ncommands: [x]\nresources:\n  gpu: A100:2\n",
		"type: service\nport: 80\nimage: nginx\nreplicas: 0..2\nscaling: {metric: rps, target: 1}\n",
		"type: fleet\nssh_config:\n  hosts: [a, {hostname: b, blocks: auto}]\n",
		"type: dev-environment\nide: vscode\nenv: [A=1, B]\n",
		"type: service\nport: 80\ngroups:\n  - count: 1\n    commands: [x]\n",
		"type: task\n<<: {commands: [x]}\n", "a: &x [*x]\n", "type: [task]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseConfigurationYAML([]byte(s), "f.yml")
		require.False(t, err != nil && !strings.HasPrefix(err.Error(), "f.yml"), "error without the file name: %v", err)
	})
}
