package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// canonicalEmptyResources is what the CLI sends for an empty `resources:` (reference §3.2).
const canonicalEmptyResources = `{"cpu":{"arch":null,"count":{"min":2,"max":null}},"memory":{"min":8.0,"max":null},"shm_size":null,"gpu":{"vendor":null,"name":null,"count":{"min":0,"max":null},"memory":null,"total_memory":null,"compute_capability":null},"disk":{"size":{"min":100.0,"max":null}}}`

func TestResourcesSpecDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{name: "constructor"},
		{name: "empty object", in: `{}`},
		{name: "canonical form", in: canonicalEmptyResources},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultResourcesSpec()
			if tc.in != "" {
				require.NoError(t, json.Unmarshal([]byte(tc.in), &r))
			}
			out, err := json.Marshal(r)
			require.NoError(t, err)
			require.Equal(t, canonicalEmptyResources, string(out))
		})
	}
}

// TestGPUGrammar checks every example the reference lists for the gpu string grammar.
func TestGPUGrammar(t *testing.T) {
	const gpuNulls = `"total_memory":null,"compute_capability":null}`
	runScalarCases[GPUSpec](t, []scalarCase{
		{name: "A100:2", in: `"A100:2"`, want: `{"vendor":null,"name":["A100"],"count":{"min":2,"max":2},"memory":null,` + gpuNulls},
		{name: "24GB..", in: `"24GB.."`, want: `{"vendor":null,"name":null,"count":{"min":1,"max":null},"memory":{"min":24.0,"max":null},` + gpuNulls},
		{name: "A100:40GB..:2", in: `"A100:40GB..:2"`, want: `{"vendor":null,"name":["A100"],"count":{"min":2,"max":2},"memory":{"min":40.0,"max":null},` + gpuNulls},
		{name: "nvidia:16GB:1..2", in: `"nvidia:16GB:1..2"`, want: `{"vendor":"nvidia","name":null,"count":{"min":1,"max":2},"memory":{"min":16.0,"max":16.0},` + gpuNulls},
		{name: "tpu:v5e-8", in: `"tpu:v5e-8"`, want: `{"vendor":"google","name":["v5e-8"],"count":{"min":1,"max":null},"memory":null,` + gpuNulls},
		{name: "0 is CPU only", in: `"0"`, want: `{"vendor":null,"name":null,"count":{"min":0,"max":0},"memory":null,` + gpuNulls},
		{name: "int count", in: `2`, want: `{"vendor":null,"name":null,"count":{"min":2,"max":2},"memory":null,` + gpuNulls},
		{name: "name list", in: `"H100,A100:8"`, want: `{"vendor":null,"name":["H100","A100"],"count":{"min":8,"max":8},"memory":null,` + gpuNulls},
		{name: "tt alias", in: `"tt:n150"`, want: `{"vendor":"tenstorrent","name":["n150"],"count":{"min":1,"max":null},"memory":null,` + gpuNulls},
		{name: "vendor case-insensitive", in: `"AMD:MI300X"`, want: `{"vendor":"amd","name":["MI300X"],"count":{"min":1,"max":null},"memory":null,` + gpuNulls},
		{name: "legacy tpu- prefix", in: `"tpu-v5p-8"`, want: `{"vendor":null,"name":["v5p-8"],"count":{"min":1,"max":null},"memory":null,` + gpuNulls},
		{name: "spaces ignored", in: `"A100 : 2"`, want: `{"vendor":null,"name":["A100"],"count":{"min":2,"max":2},"memory":null,` + gpuNulls},
		{name: "object name string", in: `{"name": "A100", "compute_capability": 8.0}`, want: `{"vendor":null,"name":["A100"],"count":{"min":1,"max":null},"memory":null,"total_memory":null,"compute_capability":[8,0]}`},
		{name: "object tpu alias", in: `{"vendor": "tpu", "count": "1.."}`, want: `{"vendor":"google","name":null,"count":{"min":1,"max":null},"memory":null,` + gpuNulls},
		{name: "two names", in: `"A100:x:2"`, wantErr: `"A100:x:2": more than one GPU name token (A100, x)`},
		{name: "two vendors", in: `"nvidia:amd"`, wantErr: "more than one vendor"},
		{name: "two counts", in: `"1:2"`, wantErr: "more than one count token"},
		{name: "two memories", in: `"8GB:16GB"`, wantErr: "more than one memory token"},
		{name: "empty token", in: `"A100::2"`, wantErr: "empty token"},
		{name: "empty name", in: `"A100,:2"`, wantErr: "empty GPU name"},
		{name: "bad memory", in: `"16XB"`, wantErr: `"16XB": memory: invalid memory size "16XB"`},
		{name: "bad count", in: `"A100:4..2"`, wantErr: "count: invalid range order 4..2"},
		{name: "bad vendor", in: `{"vendor": "via"}`, wantErr: `vendor: invalid GPU vendor "via"`},
		{name: "float", in: `1.5`, wantErr: "invalid gpu spec number 1.5"},
	})
}

func TestCPUAndDiskGrammar(t *testing.T) {
	t.Run("cpu", func(t *testing.T) {
		runScalarCases[CPUSpec](t, []scalarCase{
			{name: "arm:8", in: `"arm:8"`, want: `{"arch":"arm","count":{"min":8,"max":8}}`},
			{name: "4..", in: `"4.."`, want: `{"arch":null,"count":{"min":4,"max":null}}`},
			{name: "int", in: `16`, want: `{"arch":null,"count":{"min":16,"max":16}}`},
			{name: "arch only", in: `"X86"`, want: `{"arch":"x86","count":{"min":2,"max":null}}`},
			{name: "legacy range object", in: `{"min": 4}`, want: `{"arch":null,"count":{"min":4,"max":null}}`},
			{name: "object", in: `{"arch": "arm"}`, want: `{"arch":"arm","count":{"min":2,"max":null}}`},
			{name: "bad arch", in: `"mips:4"`, wantErr: `"mips:4": invalid CPU architecture "mips"`},
			{name: "two counts", in: `"4:8"`, wantErr: "more than one CPU count"},
			{name: "empty token", in: `"arm:"`, wantErr: "empty token"},
		})
	})
	t.Run("disk", func(t *testing.T) {
		runScalarCases[DiskSpec](t, []scalarCase{
			{name: "exact", in: `"100GB"`, want: `{"size":{"min":100.0,"max":100.0}}`},
			{name: "open", in: `"200GB.."`, want: `{"size":{"min":200.0,"max":null}}`},
			{name: "number", in: `50`, want: `{"size":{"min":50.0,"max":50.0}}`},
			{name: "object", in: `{"size": "1TB.."}`, want: `{"size":{"min":1024.0,"max":null}}`},
			{name: "missing size", in: `{}`, wantErr: "size: field required"},
		})
	})
	t.Run("memory", func(t *testing.T) {
		var r ResourcesSpec
		require.NoError(t, json.Unmarshal([]byte(`{"memory": "32GB..64GB", "shm_size": "16GB"}`), &r))
		require.Equal(t, RangeBetween[Memory](32, 64), r.Memory)
		require.Equal(t, Memory(16), *r.ShmSize)
	})
}

func TestWithServerDefaults(t *testing.T) {
	for _, tc := range []struct {
		name        string
		gpu         string // JSON of resources.gpu; "" = null
		customImage bool
		wantVendor  string // "" = null
		wantCount   string
	}{
		{name: "missing gpu becomes 0.., default image → nvidia", wantVendor: "nvidia", wantCount: "0.."},
		{name: "missing gpu, custom image", customImage: true, wantCount: "0.."},
		{name: "count only, default image → nvidia", gpu: `2`, wantVendor: "nvidia", wantCount: "2"},
		{name: "count only, custom image → unset", gpu: `2`, customImage: true, wantCount: "2"},
		{name: "no GPUs keeps vendor unset", gpu: `0`, wantCount: "0"},
		{name: "open count from 0 still nvidia", gpu: `"0.."`, wantVendor: "nvidia", wantCount: "0.."},
		{name: "known names of one vendor", gpu: `"MI300X,mi325x:8"`, customImage: true, wantVendor: "amd", wantCount: "8"},
		{name: "tpu name", gpu: `"v5p-8"`, wantVendor: "google", wantCount: "1.."},
		{name: "mixed vendors", gpu: `"H100,MI300X"`, wantCount: "1.."},
		{name: "unknown name", gpu: `"X9000"`, wantCount: "1.."},
		{name: "explicit vendor kept", gpu: `"amd:2"`, wantVendor: "amd", wantCount: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultResourcesSpec()
			r.GPU = nil
			if tc.gpu != "" {
				r.GPU = &GPUSpec{}
				require.NoError(t, json.Unmarshal([]byte(tc.gpu), r.GPU))
			}
			before, _ := json.Marshal(r)
			got := r.WithServerDefaults(tc.customImage)
			after, _ := json.Marshal(r)
			require.Equal(t, string(before), string(after), "the receiver must not change")
			require.NotNil(t, got.GPU)
			vendor := ""
			if got.GPU.Vendor != nil {
				vendor = string(*got.GPU.Vendor)
			}
			require.Equal(t, tc.wantVendor, vendor)
			require.Equal(t, tc.wantCount, got.GPU.Count.String())
		})
	}
}

func TestResourcesString(t *testing.T) {
	var r ResourcesSpec
	require.NoError(t, json.Unmarshal([]byte(`{"cpu": "arm:4..", "gpu": "nvidia:A100:40GB:2", "disk": "200GB.."}`), &r))
	require.Equal(t, "cpu=arm:4.. mem=8GB.. gpu=nvidia:A100:40GB:2 disk=200GB..", r.String())
	require.NoError(t, r.Validate())
	require.Equal(t, []GPUVendor{GPUVendorNVIDIA}, DetectGPUVendors("a100"))
	require.Empty(t, DetectGPUVendors("v5e-8"))
}
