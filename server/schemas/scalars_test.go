package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// scalarCase is one input of a wire type: JSON (which yaml.v3 also reads) and either the
// canonical JSON it must encode back to, or a substring of the error.
type scalarCase struct {
	name    string
	in      string
	want    string
	wantErr string
}

// decodeBoth decodes in through encoding/json and through yaml.v3, requires both paths to
// agree, and returns the canonical JSON (or the error).
func decodeBoth[T any](t *testing.T, in string) (string, error) {
	t.Helper()
	var fromJSON, fromYAML T
	errJ := json.Unmarshal([]byte(in), &fromJSON)
	errY := yaml.Unmarshal([]byte(in), &fromYAML)
	if errJ != nil || errY != nil {
		require.Error(t, errJ, "JSON accepted what YAML rejected: %v", errY)
		require.Error(t, errY, "YAML accepted what JSON rejected: %v", errJ)
		require.Equal(t, decode.MsgOf(errJ), decode.MsgOf(errY), "JSON and YAML errors differ")
		return "", errJ
	}
	outJ, err := json.Marshal(fromJSON)
	require.NoError(t, err)
	outY, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	require.JSONEq(t, string(outJ), string(outY), "JSON and YAML decode differently")
	return string(outJ), nil
}

func runScalarCases[T any](t *testing.T, cases []scalarCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeBoth[T](t, tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotEmpty(t, err.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIntRange(t *testing.T) {
	runScalarCases[IntRange](t, []scalarCase{
		{name: "scalar", in: `4`, want: `{"min":4,"max":4}`},
		{name: "numeric string", in: `"4"`, want: `{"min":4,"max":4}`},
		{name: "closed", in: `"1..4"`, want: `{"min":1,"max":4}`},
		{name: "open max", in: `"2.."`, want: `{"min":2,"max":null}`},
		{name: "open min", in: `"..8"`, want: `{"min":null,"max":8}`},
		{name: "spaces ignored", in: `" 2 .. 8 "`, want: `{"min":2,"max":8}`},
		{name: "object", in: `{"min": 1, "max": null}`, want: `{"min":1,"max":null}`},
		{name: "object max only", in: `{"max": 3}`, want: `{"min":null,"max":3}`},
		{name: "integral float", in: `2.0`, want: `{"min":2,"max":2}`},
		{name: "empty", in: `".."`, wantErr: "invalid empty range"},
		{name: "empty object", in: `{}`, wantErr: "invalid empty range"},
		{name: "reversed", in: `"4..2"`, wantErr: "invalid range order 4..2"},
		{name: "two dots twice", in: `"1..2..3"`, wantErr: `more than one ".."`},
		{name: "fraction", in: `"1.5"`, wantErr: "expected an integer"},
		{name: "word", in: `"a..Bool"`, wantErr: `invalid range "a..Bool"`},
		{name: "bool", in: `true`, wantErr: "accepted: N"},
		{name: "list", in: `[1, 2]`, wantErr: "invalid range a list"},
	})
}

func TestMemoryRange(t *testing.T) {
	runScalarCases[MemoryRange](t, []scalarCase{
		{name: "closed with units", in: `"32GB..64GB"`, want: `{"min":32.0,"max":64.0}`},
		{name: "open", in: `"24GB.."`, want: `{"min":24.0,"max":null}`},
		{name: "exact", in: `"100GB"`, want: `{"min":100.0,"max":100.0}`},
		{name: "number", in: `16`, want: `{"min":16.0,"max":16.0}`},
		{name: "mixed units", in: `"512MB..1TB"`, want: `{"min":0.5,"max":1024.0}`},
		{name: "object with strings", in: `{"min": "8GB"}`, want: `{"min":8.0,"max":null}`},
		{name: "reversed units", in: `"1TB..1GB"`, wantErr: "invalid range order 1024GB..1GB"},
		{name: "bad unit", in: `"8XB.."`, wantErr: `invalid memory size "8XB"`},
	})
}

func TestMemory(t *testing.T) {
	runScalarCases[Memory](t, []scalarCase{
		{name: "GB", in: `"24GB"`, want: `24.0`},
		{name: "lower case", in: `"24gb"`, want: `24.0`},
		{name: "MB", in: `"512MB"`, want: `0.5`},
		{name: "TB", in: `"1TB"`, want: `1024.0`},
		{name: "spaces", in: `"1 TB"`, want: `1024.0`},
		{name: "bare string is GB", in: `"16"`, want: `16.0`},
		{name: "float", in: `0.25`, want: `0.25`},
		{name: "garbage", in: `"lots"`, wantErr: "accepted: a number of GB"},
		{name: "inf", in: `"inf"`, wantErr: "invalid memory size"},
		{name: "object", in: `{}`, wantErr: "invalid memory size an object"},
	})
}

func TestDuration(t *testing.T) {
	runScalarCases[Duration](t, []scalarCase{
		{name: "int", in: `90`, want: `90`},
		{name: "numeric string", in: `"90"`, want: `90`},
		{name: "seconds", in: `"90s"`, want: `90`},
		{name: "minutes", in: `"30m"`, want: `1800`},
		{name: "hours", in: `"2h"`, want: `7200`},
		{name: "days", in: `"1d"`, want: `86400`},
		{name: "weeks", in: `"1w"`, want: `604800`},
		{name: "space before unit", in: `"5 m"`, want: `300`},
		{name: "negative int", in: `-5`, want: `-5`},
		{name: "fraction", in: `"1.5h"`, wantErr: `cannot parse duration "1.5h"`},
		{name: "upper unit", in: `"2H"`, wantErr: "accepted: seconds"},
		{name: "unknown unit", in: `"2y"`, wantErr: "cannot parse duration"},
		{name: "bool", in: `true`, wantErr: "cannot parse duration boolean true"},
	})
}

func TestOffableDuration(t *testing.T) {
	runScalarCases[OffableDuration](t, []scalarCase{
		{name: "off", in: `"off"`, want: `"off"`},
		{name: "false", in: `false`, want: `"off"`},
		{name: "true is default", in: `true`, want: `null`},
		{name: "duration", in: `"2h"`, want: `7200`},
		{name: "zero", in: `0`, want: `0`},
		{name: "negative", in: `-1`, wantErr: "duration cannot be negative"},
		{name: "garbage", in: `"never"`, wantErr: `accepted: "off", false, true`},
	})
}

func TestIdleDuration(t *testing.T) {
	runScalarCases[IdleDuration](t, []scalarCase{
		{name: "off", in: `"off"`, want: `-1`},
		{name: "false", in: `false`, want: `-1`},
		{name: "minus one", in: `-1`, want: `-1`},
		{name: "true is default", in: `true`, want: `null`},
		{name: "duration", in: `"3d"`, want: `259200`},
		{name: "other negative kept", in: `-5`, want: `-5`},
		{name: "garbage", in: `"later"`, wantErr: `"off", false, -1`},
	})
}

func TestComputeCapability(t *testing.T) {
	runScalarCases[ComputeCapability](t, []scalarCase{
		{name: "float", in: `7.5`, want: `[7,5]`},
		{name: "string", in: `"8.0"`, want: `[8,0]`},
		{name: "list", in: `[9, 0]`, want: `[9,0]`},
		{name: "list of strings", in: `["8", "6"]`, want: `[8,6]`},
		{name: "int", in: `7`, wantErr: "invalid compute capability number 7"},
		{name: "three parts", in: `"7.5.1"`, wantErr: "invalid compute capability"},
		{name: "words", in: `"a.Bool"`, wantErr: "accepted: \"<major>.<minor>\""},
	})
}

func TestEnv(t *testing.T) {
	runScalarCases[Env](t, []scalarCase{
		{name: "map", in: `{"A": "1", "B": "x=y"}`, want: `{"A":"1","B":"x=y"}`},
		{name: "map keeps order", in: `{"Z": "1", "A": "2"}`, want: `{"Z":"1","A":"2"}`},
		{name: "numbers become strings", in: `{"PORT": 8080, "RATIO": 0.5}`, want: `{"PORT":"8080","RATIO":"0.5"}`},
		{name: "list", in: `["A=1", "B=x=y", "C="]`, want: `{"A":"1","B":"x=y","C":""}`},
		{name: "list unresolved", in: `["HF_TOKEN"]`, want: `{"HF_TOKEN":{"key":"HF_TOKEN"}}`},
		{name: "sentinel object", in: `{"HF_TOKEN": {"key": "HF_TOKEN"}}`, want: `{"HF_TOKEN":{"key":"HF_TOKEN"}}`},
		{name: "empty list", in: `[]`, want: `{}`},
		{name: "duplicate", in: `["A=1", "A=2"]`, wantErr: "duplicate environment variable: A"},
		{name: "bad name", in: `["1A=x"]`, wantErr: `invalid env item "1A=x"`},
		{name: "bool value", in: `{"DEBUG": true}`, wantErr: "DEBUG: expected a string value"},
		{name: "scalar", in: `"A=1"`, wantErr: "accepted: a mapping"},
	})
}

func TestEnvResolve(t *testing.T) {
	var e Env
	require.NoError(t, json.Unmarshal([]byte(`["A=1", "TOKEN", "MISSING"]`), &e))
	require.Equal(t, []string{"TOKEN", "MISSING"}, e.Unresolved())
	err := e.Resolve(func(k string) (string, bool) { return "secret", k == "TOKEN" })
	require.EqualError(t, err, "environment variables not set: MISSING")
	v, ok := e.Get("TOKEN")
	require.True(t, ok)
	require.Equal(t, "secret", v)
	require.Equal(t, []string{"A", "TOKEN", "MISSING"}, e.Keys())
	require.True(t, e.Equal(e.Clone()))
}

func TestPortMapping(t *testing.T) {
	runScalarCases[PortMapping](t, []scalarCase{
		{name: "int", in: `8080`, want: `{"local_port":8080,"container_port":8080}`},
		{name: "string", in: `"8080"`, want: `{"local_port":8080,"container_port":8080}`},
		{name: "mapping", in: `"80:8080"`, want: `{"local_port":80,"container_port":8080}`},
		{name: "any local", in: `"*:8080"`, want: `{"local_port":null,"container_port":8080}`},
		{name: "object", in: `{"container_port": 22}`, want: `{"local_port":null,"container_port":22}`},
		{name: "out of range", in: `70000`, wantErr: "container_port 70000 is out of range 1..65535"},
		{name: "zero local", in: `"0:80"`, wantErr: "local_port 0 is out of range"},
		{name: "no container", in: `"80:"`, wantErr: `invalid port mapping "80:"`},
		{name: "missing container", in: `{"local_port": 80}`, wantErr: "container_port: field required"},
	})
}

func TestServicePort(t *testing.T) {
	runScalarCases[ServicePort](t, []scalarCase{
		{name: "int", in: `8000`, want: `{"local_port":80,"container_port":8000}`},
		{name: "numeric string", in: `"8000"`, want: `{"local_port":80,"container_port":8000}`},
		{name: "mapping", in: `"8080:8000"`, want: `{"local_port":8080,"container_port":8000}`},
		{name: "any local rejected", in: `"*:8000"`, wantErr: `accepted: 8000, "80:8000"`},
	})
}

func TestEntityReference(t *testing.T) {
	runScalarCases[EntityReference](t, []scalarCase{
		{name: "name", in: `"my-fleet"`, want: `{"project":null,"name":"my-fleet"}`},
		{name: "project and name", in: `"team/my-fleet"`, want: `{"project":"team","name":"my-fleet"}`},
		{name: "object", in: `{"project": "team", "name": "gw"}`, want: `{"project":"team","name":"gw"}`},
		{name: "object without project", in: `{"name": "gw"}`, want: `{"project":null,"name":"gw"}`},
		{name: "three parts", in: `"a/b/c"`, wantErr: `invalid entity reference "a/b/c"`},
		{name: "empty part", in: `"a/"`, wantErr: "accepted: `<name>`"},
		{name: "missing name", in: `{"project": "team"}`, wantErr: "name: field required"},
	})
	ref := EntityReference{Name: "f", LegacyString: true}
	out, err := json.Marshal(ref)
	require.NoError(t, err)
	require.Equal(t, `"f"`, string(out))
}

func TestUnknownKeysStrictOnlyInYAML(t *testing.T) {
	var fromJSON IntRange
	require.NoError(t, json.Unmarshal([]byte(`{"min": 1, "extra": true}`), &fromJSON))
	var fromYAML IntRange
	err := yaml.Unmarshal([]byte("min: 1\nextra: true\n"), &fromYAML)
	require.EqualError(t, err, `extra: unknown field "extra"; accepted: min, max`)
	var fe *decode.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, 2, fe.Line)
}
