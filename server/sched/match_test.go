package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// matchOffer is check and describe together: whether the offer satisfies the requirements,
// and why not.
func matchOffer(req schemas.Requirements, offer schemas.InstanceOffer) (bool, string) {
	if m := check(&req, &offer); m != matched {
		return false, describe(m, &req, &offer)
	}
	return true, ""
}

func TestMatchOffer(t *testing.T) {
	a100x2 := host(16, 64, "A100", 2, 40, 500)
	cpuOnly := host(4, 16, "", 0, 0, 200)
	arm := host(8, 32, "", 0, 0, 200)
	arm.Instance.Resources.CPUArch = ptr("arm")
	amd := host(16, 64, "MI300X", 1, 192, 500)
	amd.Instance.Resources.Gpus[0].Vendor = ptr("amd")
	noDisk := host(4, 16, "", 0, 0, 0)
	spot := host(4, 16, "", 0, 0, 200)
	spot.Instance.Resources.Spot = true
	pricey := priced(cand("x", "f", cpuOnly), 3.5).Offer
	unknownGPU := host(16, 64, "X9000", 1, 24, 500)

	mod := func(r schemas.Requirements, f func(*schemas.Requirements)) schemas.Requirements {
		f(&r)
		return r
	}
	tests := []struct {
		name  string
		req   schemas.Requirements
		offer schemas.InstanceOffer
		why   string // "" = match
	}{
		{"defaults on CPU host", cpuReq(), cpuOnly, ""},
		{"defaults accept a GPU host of the default vendor", cpuReq(), a100x2, ""},
		{"defaults (vendor nvidia) reject an AMD host", cpuReq(), amd, "needs nvidia GPU, instance has amd"},
		{"needs 2 GPUs", gpuReq(2), host(8, 32, "A100", 1, 40, 500), "needs 2 GPUs, instance has 1"},
		{"gpu name case-insensitive", gpuReq(2, "a100"), a100x2, ""},
		{"gpu name mismatch", gpuReq(2, "H100", "H200"), a100x2, "needs H100 or H200 GPU, instance has A100"},
		{"GPU wanted, none there", gpuReq(1), cpuOnly, "needs nvidia GPU, instance has none"},
		{"cpu count", mod(cpuReq(), func(r *schemas.Requirements) { r.Resources.CPU.Count = schemas.RangeAtLeast(8) }),
			cpuOnly, "needs 8.. CPUs, instance has 4"},
		{"cpu arch arm", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.CPU.Arch = ptr(schemas.CPUArchARM)
		}), arm, ""},
		{"cpu arch missing means x86", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.CPU.Arch = ptr(schemas.CPUArchARM)
		}), cpuOnly, "needs arm CPU, instance is x86"},
		{"memory in GB from MiB", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.Memory = schemas.RangeAtLeast[schemas.Memory](32)
		}), cpuOnly, "needs 32GB.. memory, instance has 16GB"},
		{"memory max", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.Memory = schemas.RangeBetween[schemas.Memory](8, 12)
		}), cpuOnly, "needs 8GB..12GB memory, instance has 16GB"},
		{"disk", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.Disk = &schemas.DiskSpec{Size: schemas.RangeAtLeast[schemas.Memory](300)}
		}), cpuOnly, "needs 300GB.. disk, instance has 200GB"},
		{"unknown disk passes", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.Disk = &schemas.DiskSpec{Size: schemas.RangeAtLeast[schemas.Memory](300)}
		}), noDisk, ""},
		{"per-GPU memory", mod(gpuReq(2), func(r *schemas.Requirements) {
			r.Resources.GPU.Memory = ptr(schemas.RangeAtLeast[schemas.Memory](80))
		}), a100x2, "needs 80GB.. per GPU, instance has 40GB"},
		{"total GPU memory", mod(gpuReq(2), func(r *schemas.Requirements) {
			r.Resources.GPU.TotalMemory = ptr(schemas.RangeAtLeast[schemas.Memory](80))
		}), a100x2, ""},
		{"total GPU memory too small", mod(gpuReq(2), func(r *schemas.Requirements) {
			r.Resources.GPU.TotalMemory = ptr(schemas.RangeAtLeast[schemas.Memory](100))
		}), a100x2, "needs 100GB.. total GPU memory, instance has 80GB"},
		{"compute capability ok", mod(gpuReq(2), func(r *schemas.Requirements) {
			r.Resources.GPU.ComputeCapability = &schemas.ComputeCapability{8, 0}
		}), a100x2, ""},
		{"compute capability too low", mod(gpuReq(2), func(r *schemas.Requirements) {
			r.Resources.GPU.ComputeCapability = &schemas.ComputeCapability{9, 0}
		}), a100x2, "needs compute capability 9.0, A100 has 8.0"},
		{"compute capability unknown GPU fails", mod(gpuReq(1), func(r *schemas.Requirements) {
			r.Resources.GPU.ComputeCapability = &schemas.ComputeCapability{7, 0}
		}), unknownGPU, "needs compute capability 7.0, unknown for X9000"},
		{"compute capability not for AMD", mod(gpuReq(1), func(r *schemas.Requirements) {
			r.Resources.GPU.Vendor = ptr(schemas.GPUVendorAMD)
			r.Resources.GPU.ComputeCapability = &schemas.ComputeCapability{7, 0}
		}), amd, "needs compute capability 7.0, unknown for MI300X"},
		{"gpu 0 means CPU-only is fine whatever the name", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.GPU.Name = []string{"H100"}
		}), cpuOnly, ""},
		{"gpu count nil min applies filters", mod(cpuReq(), func(r *schemas.Requirements) {
			r.Resources.GPU = &schemas.GPUSpec{Count: schemas.Range[int]{Max: ptr(4)}, Name: []string{"H100"}}
		}), cpuOnly, "needs H100 GPU, instance has none"},
		{"no gpu spec at all", mod(cpuReq(), func(r *schemas.Requirements) { r.Resources.GPU = nil }), amd, ""},
		{"spot wanted", mod(cpuReq(), func(r *schemas.Requirements) { r.Spot = ptr(true) }), cpuOnly,
			"needs a spot instance, instance is on-demand"},
		{"on-demand wanted", cpuReq(), spot, "needs an on-demand instance, instance is spot"},
		{"spot auto", mod(cpuReq(), func(r *schemas.Requirements) { r.Spot = nil }), spot, ""},
		{"max price", mod(cpuReq(), func(r *schemas.Requirements) { r.MaxPrice = ptr(2.0) }), pricey,
			"price $3.5 exceeds max_price $2"},
		{"tpu- names are google", mod(gpuReq(1), func(r *schemas.Requirements) {
			r.Resources.GPU.Vendor = ptr(schemas.GPUVendorGoogle)
			r.Resources.GPU.Name = nil
		}), host(8, 32, "tpu-v5p-8", 1, 0, 100), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := matchOffer(tt.req, tt.offer)
			require.Equal(t, tt.why == "", ok, why)
			require.Equal(t, tt.why, why)
		})
	}
}

func TestComputeCapability(t *testing.T) {
	tests := []struct {
		name, vendor, gpu string
		want              schemas.ComputeCapability
		known             bool
	}{
		{"H100", "nvidia", "H100", schemas.ComputeCapability{9, 0}, true},
		{"lower case name", "nvidia", "rtx4090", schemas.ComputeCapability{8, 9}, true},
		{"mixed case", "NVIDIA", "RTX3090Ti", schemas.ComputeCapability{8, 6}, true},
		{"unknown", "nvidia", "X9000", schemas.ComputeCapability{}, false},
		{"not nvidia", "amd", "MI300X", schemas.ComputeCapability{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, known := computeCapabilityOf(tt.vendor, tt.gpu)
			require.Equal(t, tt.known, known)
			require.Equal(t, tt.want, cc)
		})
	}
}
