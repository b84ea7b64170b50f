package hostinfo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "hostinfo", name))
	require.NoError(t, err)
	return data
}

func TestParseNvidiaSMI(t *testing.T) {
	cases := []struct {
		file    string
		count   int
		first   GPU
		wantErr bool
	}{
		{file: "nvidia-smi-0gpu.csv", count: 0},
		{file: "nvidia-smi-1gpu-2fields.csv", count: 1, first: GPU{Vendor: "nvidia", Name: "NVIDIA A10G", MemoryMiB: 23028}},
		{file: "nvidia-smi-1gpu-na-driver.csv", count: 1, first: GPU{Vendor: "nvidia", Name: "NVIDIA GeForce RTX 4090",
			MemoryMiB: 24564, ID: "GPU-2b79666e-d81f-f3f8-fd47-9903f118c3f5"}},
		{file: "nvidia-smi-8gpu.csv", count: 8, first: GPU{Vendor: "nvidia", Name: "NVIDIA H100 80GB HBM3",
			MemoryMiB: 81559, ID: "GPU-6c5d1f7e-0b3a-4f8e-9d2c-1a2b3c4d5e00", DriverVersion: "570.86.15"}},
		{file: "nvidia-smi-1gpu-h100-2fields.csv", count: 1, first: GPU{Vendor: "nvidia", Name: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}},
		{file: "nvidia-smi-1gpu-h100.csv", count: 1, first: GPU{Vendor: "nvidia", Name: "NVIDIA H100 80GB HBM3",
			MemoryMiB: 81559, ID: "GPU-27a8413f-d269-febf-e234-2c0d4e111a91", DriverVersion: "580.159.04"}},
		{file: "nvidia-smi-malformed-memory.csv", wantErr: true},
		{file: "nvidia-smi-malformed-error.csv", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			gpus, err := ParseNvidiaSMI(testdata(t, c.file))
			if c.wantErr {
				require.Error(t, err, "want error, got %+v", gpus)
				return
			}
			require.NoError(t, err)
			require.Len(t, gpus, c.count, "GPUs")
			if c.count > 0 {
				require.Equal(t, c.first, gpus[0], "first GPU")
			}
		})
	}
}

func TestParseAmdSMI(t *testing.T) {
	cases := []struct {
		file    string
		count   int
		first   GPU
		wantErr bool
	}{
		{file: "amd-smi-rocm6.json", count: 2, first: GPU{Vendor: "amd", Name: "AMD Instinct MI300X",
			MemoryMiB: 196592, DriverVersion: "6.10.5"}},
		{file: "amd-smi-rocm7.json", count: 1, first: GPU{Vendor: "amd", Name: "AMD Instinct MI325X", MemoryMiB: 262144}},
		{file: "amd-smi-malformed.json", wantErr: true},
		{file: "amd-smi-malformed-text.txt", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			gpus, err := ParseAmdSMI(testdata(t, c.file))
			if c.wantErr {
				require.Error(t, err, "want error, got %+v", gpus)
				return
			}
			require.NoError(t, err)
			require.Len(t, gpus, c.count, "GPUs")
			require.Equal(t, c.first, gpus[0], "first GPU")
		})
	}
}

func TestInfoFileRoundTripUsesUpstreamKeys(t *testing.T) {
	gpus, err := ParseNvidiaSMI(testdata(t, "nvidia-smi-8gpu.csv"))
	require.NoError(t, err)
	facts := Facts{CPUs: 96, MemoryBytes: 1 << 40, DiskBytes: 2 << 40, GPUs: gpus, Addresses: []string{"10.0.0.5/24"}}
	dir := t.TempDir()
	require.NoError(t, WriteFile(dir, facts.Info("docker")))
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	var keys map[string]any
	require.NoError(t, json.Unmarshal(raw, &keys))
	for _, k := range []string{"cpus", "memory", "disk_size", "gpu_count", "gpu_name", "gpu_memory", "gpu_vendor", "addresses", "executor"} {
		assert.Contains(t, keys, k, "key missing in %s", raw)
	}
	info, err := ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	want := Info{GpuVendor: "nvidia", GpuName: "NVIDIA H100 80GB HBM3", GpuMemory: 81559, GpuCount: 8,
		Addresses: []string{"10.0.0.5/24"}, DiskSize: 2 << 40, CPUs: 96, Memory: 1 << 40, Executor: "docker"}
	require.Equal(t, want, info, "info = %+v, want %+v", info, want)
	none := (Facts{}).Info("process")
	require.Equal(t, VendorNone, none.GpuVendor, "no-GPU info vendor")
	require.NotNil(t, none.Addresses, "no-GPU info addresses")

}

// TestDetectThisHost runs the real detection; with DSTACK_AGENT_EXPECT_GPU=1
// (set by the GPU-machine check) it also requires an NVIDIA GPU.
func TestDetectThisHost(t *testing.T) {
	f := Detect(context.Background(), t.TempDir())
	t.Logf("facts = %+v", f)
	require.GreaterOrEqual(t, f.CPUs, 1, "facts = %+v", f)
	require.NotZero(t, f.MemoryBytes, "facts = %+v", f)
	require.NotZero(t, f.DiskBytes, "facts = %+v", f)
	require.NotNil(t, f.GPUs, "facts = %+v", f)

	if os.Getenv("DSTACK_AGENT_EXPECT_GPU") != "1" {
		return
	}
	require.NotEmpty(t, f.GPUs, "no GPU detected")
	g := f.GPUs[0]
	require.False(t, g.Vendor != VendorNvidia || g.Name == "" || g.MemoryMiB < 1024 || !strings.HasPrefix(g.ID, "GPU-") || g.DriverVersion == "", "gpu = %+v", g)
}
