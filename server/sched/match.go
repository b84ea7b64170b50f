package sched

import (
	"fmt"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// MatchOffer reports whether an offer satisfies a job's requirements, following gpuhunt's
// matching rules (the ones upstream applies to both backend offers and fleet instances):
// max_price, spot, CPU architecture (an offer without one is x86) and count, memory, GPUs,
// and disk. When ok is false, why is a short human reason for plans and status messages,
// such as "needs 2 GPUs, instance has 1".
//
// GPU rules: an offer without GPUs satisfies a request whose GPU count may be 0, whatever the
// other GPU fields say. Otherwise the vendor (an offer GPU without a vendor is nvidia, or
// google for "tpu-" names), count, names (case-insensitive), per-GPU memory, total GPU
// memory and minimum compute capability are checked. Compute capability is only known for
// NVIDIA GPUs in the table of ComputeCapabilityOf; any other GPU fails a compute capability
// requirement, as in gpuhunt. An offer with disk size 0 (unknown) passes any disk
// requirement. Memory is compared in GB (memory_mib / 1024).
func MatchOffer(req schemas.Requirements, offer schemas.InstanceOffer) (ok bool, why string) {
	res := &offer.Instance.Resources
	if req.MaxPrice != nil && offer.Price > *req.MaxPrice {
		return false, fmt.Sprintf("price $%g exceeds max_price $%g", offer.Price, *req.MaxPrice)
	}
	if req.Spot != nil && res.Spot != *req.Spot {
		if *req.Spot {
			return false, "needs a spot instance, instance is on-demand"
		}
		return false, "needs an on-demand instance, instance is spot"
	}
	if why := matchCPU(req.Resources.CPU, res); why != "" {
		return false, why
	}
	mem := mibToGB(res.MemoryMiB)
	if !req.Resources.Memory.Contains(mem) {
		return false, fmt.Sprintf("needs %s memory, instance has %s", req.Resources.Memory, mem)
	}
	if why := matchGPU(req.Resources.GPU, res.Gpus); why != "" {
		return false, why
	}
	if d := req.Resources.Disk; d != nil && res.Disk.SizeMiB != 0 {
		if size := mibToGB(res.Disk.SizeMiB); !d.Size.Contains(size) {
			return false, fmt.Sprintf("needs %s disk, instance has %s", d.Size, size)
		}
	}
	return true, ""
}

func matchCPU(spec schemas.CPUSpec, res *schemas.Resources) string {
	if spec.Arch != nil {
		arch := string(schemas.CPUArchX86)
		if res.CPUArch != nil {
			arch = *res.CPUArch
		}
		if !strings.EqualFold(arch, string(*spec.Arch)) {
			return fmt.Sprintf("needs %s CPU, instance is %s", *spec.Arch, arch)
		}
	}
	if !spec.Count.Contains(res.CPUs) {
		return fmt.Sprintf("needs %s CPUs, instance has %d", spec.Count, res.CPUs)
	}
	return ""
}

func matchGPU(spec *schemas.GPUSpec, gpus []schemas.Gpu) string {
	if spec == nil {
		return ""
	}
	n := len(gpus)
	if n == 0 && spec.Count.Min != nil && *spec.Count.Min == 0 {
		return "" // CPU-only offers are fine when zero GPUs are acceptable
	}
	vendor, name, memGB := "", "", schemas.Memory(0)
	if n > 0 {
		vendor, name, memGB = gpuVendor(gpus[0]), gpus[0].Name, mibToGB(gpus[0].MemoryMiB)
	}
	if spec.Vendor != nil && !strings.EqualFold(string(*spec.Vendor), vendor) {
		return fmt.Sprintf("needs %s GPU, instance has %s", *spec.Vendor, orNone(vendor))
	}
	if !spec.Count.Contains(n) {
		return fmt.Sprintf("needs %s GPUs, instance has %d", spec.Count, n)
	}
	if len(spec.Name) > 0 && !containsFold(spec.Name, name) {
		return fmt.Sprintf("needs %s GPU, instance has %s", strings.Join(spec.Name, " or "), orNone(name))
	}
	if cc := spec.ComputeCapability; cc != nil {
		have, known := ComputeCapabilityOf(vendor, name)
		if !known {
			return fmt.Sprintf("needs compute capability %s, unknown for %s", cc, orNone(name))
		}
		if have[0] < cc[0] || (have[0] == cc[0] && have[1] < cc[1]) {
			return fmt.Sprintf("needs compute capability %s, %s has %s", cc, name, have)
		}
	}
	if m := spec.Memory; m != nil && !m.Contains(memGB) {
		return fmt.Sprintf("needs %s per GPU, instance has %s", m, memGB)
	}
	if m := spec.TotalMemory; m != nil {
		if total := memGB * schemas.Memory(n); !m.Contains(total) {
			return fmt.Sprintf("needs %s total GPU memory, instance has %s", m, total)
		}
	}
	return ""
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
