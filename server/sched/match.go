package sched

import (
	"fmt"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// mismatch names the first requirement an offer fails. check returns it without allocating,
// so that the assignment hot path can test many offers cheaply; describe formats it.
type mismatch uint8

const (
	matched mismatch = iota
	badPrice
	badSpot
	badArch
	badCPUs
	badMemory
	badGPUVendor
	badGPUCount
	badGPUName
	badComputeCapability
	badGPUMemory
	badGPUTotalMemory
	badDisk
)

// check tells whether an offer satisfies a job's requirements, following gpuhunt's
// matching rules (the ones upstream applies to both backend offers and fleet instances):
// max_price, spot, CPU architecture (an offer without one is x86) and count, memory, GPUs,
// and disk: matched, or the first requirement the offer fails (describe turns it into a short
// human reason for plans and status messages, such as "needs 2 GPUs, instance has 1").
//
// GPU rules: an offer without GPUs satisfies a request whose GPU count may be 0, whatever the
// other GPU fields say. Otherwise the vendor (an offer GPU without a vendor is nvidia, or
// google for "tpu-" names), count, names (case-insensitive), minimum compute capability,
// per-GPU memory and total GPU memory are checked. Compute capability is only known for the
// NVIDIA GPUs of computeCapabilityOf; any other GPU fails a compute capability requirement,
// as in gpuhunt. An offer with disk size 0 (unknown) passes any disk requirement. Memory is
// compared in GB (memory_mib / 1024).
func check(req *schemas.Requirements, offer *schemas.InstanceOffer) mismatch {
	res := &offer.Instance.Resources
	switch {
	case req.MaxPrice != nil && offer.Price > *req.MaxPrice:
		return badPrice
	case req.Spot != nil && res.Spot != *req.Spot:
		return badSpot
	case req.Resources.CPU.Arch != nil && !strings.EqualFold(cpuArch(res), string(*req.Resources.CPU.Arch)):
		return badArch
	case !req.Resources.CPU.Count.Contains(res.CPUs):
		return badCPUs
	case !req.Resources.Memory.Contains(mibToGB(res.MemoryMiB)):
		return badMemory
	}
	if m := checkGPU(req.Resources.GPU, res.Gpus); m != matched {
		return m
	}
	if d := req.Resources.Disk; d != nil && res.Disk.SizeMiB != 0 && !d.Size.Contains(mibToGB(res.Disk.SizeMiB)) {
		return badDisk
	}
	return matched
}

func checkGPU(spec *schemas.GPUSpec, gpus []schemas.Gpu) mismatch {
	if spec == nil {
		return matched
	}
	n := len(gpus)
	if n == 0 && spec.Count.Min != nil && *spec.Count.Min == 0 {
		return matched // CPU-only offers are fine when zero GPUs are acceptable
	}
	vendor, name, memGB := gpuSummary(gpus)
	switch {
	case spec.Vendor != nil && !strings.EqualFold(string(*spec.Vendor), vendor):
		return badGPUVendor
	case !spec.Count.Contains(n):
		return badGPUCount
	case len(spec.Name) > 0 && !containsFold(spec.Name, name):
		return badGPUName
	case spec.ComputeCapability != nil && !hasComputeCapability(vendor, name, *spec.ComputeCapability):
		return badComputeCapability
	case spec.Memory != nil && !spec.Memory.Contains(memGB):
		return badGPUMemory
	case spec.TotalMemory != nil && !spec.TotalMemory.Contains(memGB*schemas.Memory(n)):
		return badGPUTotalMemory
	}
	return matched
}

func describe(m mismatch, req *schemas.Requirements, offer *schemas.InstanceOffer) string {
	res := &offer.Instance.Resources
	r := &req.Resources
	vendor, name, memGB := gpuSummary(res.Gpus)
	switch m {
	case badPrice:
		return fmt.Sprintf("price $%g exceeds max_price $%g", offer.Price, *req.MaxPrice)
	case badSpot:
		if *req.Spot {
			return "needs a spot instance, instance is on-demand"
		}
		return "needs an on-demand instance, instance is spot"
	case badArch:
		return fmt.Sprintf("needs %s CPU, instance is %s", *r.CPU.Arch, cpuArch(res))
	case badCPUs:
		return fmt.Sprintf("needs %s CPUs, instance has %d", r.CPU.Count, res.CPUs)
	case badMemory:
		return fmt.Sprintf("needs %s memory, instance has %s", r.Memory, mibToGB(res.MemoryMiB))
	case badGPUVendor:
		return fmt.Sprintf("needs %s GPU, instance has %s", *r.GPU.Vendor, orNone(vendor))
	case badGPUCount:
		return fmt.Sprintf("needs %s GPUs, instance has %d", r.GPU.Count, len(res.Gpus))
	case badGPUName:
		return fmt.Sprintf("needs %s GPU, instance has %s", strings.Join(r.GPU.Name, " or "), orNone(name))
	case badComputeCapability:
		if have, known := computeCapabilityOf(vendor, name); known {
			return fmt.Sprintf("needs compute capability %s, %s has %s", r.GPU.ComputeCapability, name, have)
		}
		return fmt.Sprintf("needs compute capability %s, unknown for %s", r.GPU.ComputeCapability, orNone(name))
	case badGPUMemory:
		return fmt.Sprintf("needs %s per GPU, instance has %s", r.GPU.Memory, memGB)
	case badGPUTotalMemory:
		return fmt.Sprintf("needs %s total GPU memory, instance has %s", r.GPU.TotalMemory,
			memGB*schemas.Memory(len(res.Gpus)))
	case badDisk:
		return fmt.Sprintf("needs %s disk, instance has %s", r.Disk.Size, mibToGB(res.Disk.SizeMiB))
	}
	return ""
}

// gpuSummary is what gpuhunt compares: the first GPU's vendor, name and memory (GB).
func gpuSummary(gpus []schemas.Gpu) (vendor, name string, memGB schemas.Memory) {
	if len(gpus) == 0 {
		return "", "", 0
	}
	return gpuVendor(gpus[0]), gpus[0].Name, mibToGB(gpus[0].MemoryMiB)
}

// gpuVendor is the vendor of an offer GPU, defaulted as upstream's Gpu model does.
func gpuVendor(g schemas.Gpu) string {
	switch {
	case g.Vendor != nil:
		return strings.ToLower(*g.Vendor)
	case strings.HasPrefix(g.Name, "tpu-"):
		return string(schemas.GPUVendorGoogle)
	}
	return string(schemas.GPUVendorNVIDIA)
}

func hasComputeCapability(vendor, name string, min schemas.ComputeCapability) bool {
	have, known := computeCapabilityOf(vendor, name)
	return known && (have[0] > min[0] || (have[0] == min[0] && have[1] >= min[1]))
}

func cpuArch(res *schemas.Resources) string {
	if res.CPUArch == nil {
		return string(schemas.CPUArchX86)
	}
	return *res.CPUArch
}

func mibToGB(mib int) schemas.Memory { return schemas.Memory(float64(mib) / 1024) }

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
