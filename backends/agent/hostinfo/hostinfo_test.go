package hostinfo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "hostinfo", name))
	if err != nil {
		t.Fatal(err)
	}
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
				if err == nil {
					t.Fatalf("want error, got %+v", gpus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(gpus) != c.count {
				t.Fatalf("%d GPUs, want %d", len(gpus), c.count)
			}
			if c.count > 0 && !reflect.DeepEqual(gpus[0], c.first) {
				t.Fatalf("first GPU = %+v, want %+v", gpus[0], c.first)
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
				if err == nil {
					t.Fatalf("want error, got %+v", gpus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(gpus) != c.count || !reflect.DeepEqual(gpus[0], c.first) {
				t.Fatalf("gpus = %+v, want %d starting with %+v", gpus, c.count, c.first)
			}
		})
	}
}

func TestInfoFileRoundTripUsesUpstreamKeys(t *testing.T) {
	gpus, err := ParseNvidiaSMI(testdata(t, "nvidia-smi-8gpu.csv"))
	if err != nil {
		t.Fatal(err)
	}
	facts := Facts{CPUs: 96, MemoryBytes: 1 << 40, DiskBytes: 2 << 40, GPUs: gpus, Addresses: []string{"10.0.0.5/24"}}
	dir := t.TempDir()
	if err := WriteFile(dir, facts.Info("docker")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cpus", "memory", "disk_size", "gpu_count", "gpu_name", "gpu_memory", "gpu_vendor", "addresses", "executor"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %q missing in %s", k, raw)
		}
	}
	info, err := ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	want := Info{GpuVendor: "nvidia", GpuName: "NVIDIA H100 80GB HBM3", GpuMemory: 81559, GpuCount: 8,
		Addresses: []string{"10.0.0.5/24"}, DiskSize: 2 << 40, CPUs: 96, Memory: 1 << 40, Executor: "docker"}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("info = %+v, want %+v", info, want)
	}
	if none := (Facts{}).Info("process"); none.GpuVendor != VendorNone || none.Addresses == nil {
		t.Fatalf("no-GPU info = %+v", none)
	}
}

// TestDetectThisHost runs the real detection; with DSTACK_AGENT_EXPECT_GPU=1
// (set by the GPU-machine check) it also requires an NVIDIA GPU.
func TestDetectThisHost(t *testing.T) {
	f := Detect(context.Background(), t.TempDir())
	t.Logf("facts = %+v", f)
	if f.CPUs < 1 || f.MemoryBytes == 0 || f.DiskBytes == 0 || f.GPUs == nil {
		t.Fatalf("facts = %+v", f)
	}
	if os.Getenv("DSTACK_AGENT_EXPECT_GPU") != "1" {
		return
	}
	if len(f.GPUs) == 0 {
		t.Fatal("no GPU detected")
	}
	g := f.GPUs[0]
	if g.Vendor != VendorNvidia || g.Name == "" || g.MemoryMiB < 1024 || !strings.HasPrefix(g.ID, "GPU-") || g.DriverVersion == "" {
		t.Fatalf("gpu = %+v", g)
	}
}
