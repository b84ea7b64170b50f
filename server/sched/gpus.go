package sched

import (
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// nvidiaComputeCapability maps NVIDIA GPU model names (lower case, as hosts and clouds report
// them) to their CUDA compute capability. It covers the GPUs gpuhunt's catalog knows.
var nvidiaComputeCapability = ccTable([]ccGroup{
	{schemas.ComputeCapability{6, 0}, "p100"},
	{schemas.ComputeCapability{7, 0}, "v100"},
	{schemas.ComputeCapability{7, 5}, "t4 rtx6000 rtx2060 rtx2060super rtx2070 rtx2070super " +
		"rtx2080 rtx2080super rtx2080ti"},
	{schemas.ComputeCapability{8, 0}, "a100"},
	{schemas.ComputeCapability{8, 6}, "a10 a10g a16 a40 a4000 a4500 a5000 a6000 rtx3050 " +
		"rtx3060 rtx3060ti rtx3070 rtx3070ti rtx3080 rtx3080ti rtx3090 rtx3090ti"},
	{schemas.ComputeCapability{8, 9}, "l4 l40 l40s rtx2000ada rtx4000ada rtx6000ada rtx4060 " +
		"rtx4060ti rtx4070 rtx4070super rtx4070ti rtx4070tisuper rtx4080 rtx4080super rtx4090"},
	{schemas.ComputeCapability{9, 0}, "h100 h100nvl h200 h200nvl gh200"},
	{schemas.ComputeCapability{10, 0}, "b200 gb200 b300"},
	{schemas.ComputeCapability{12, 0}, "rtx5060 rtx5060ti rtx5070 rtx5070ti rtx5080 rtx5090 " +
		"rtxpro4500 rtxpro6000"},
})

type ccGroup struct {
	cc    schemas.ComputeCapability
	names string // space-separated
}

func ccTable(groups []ccGroup) map[string]schemas.ComputeCapability {
	m := map[string]schemas.ComputeCapability{}
	for _, g := range groups {
		for _, name := range strings.Fields(g.names) {
			m[name] = g.cc
		}
	}
	return m
}

// computeCapabilityOf returns the CUDA compute capability of a GPU model. known is false for
// other vendors and for NVIDIA models missing from the table; a compute capability
// requirement then fails (gpuhunt does the same).
func computeCapabilityOf(vendor, name string) (cc schemas.ComputeCapability, known bool) {
	if !strings.EqualFold(vendor, string(schemas.GPUVendorNVIDIA)) {
		return cc, false
	}
	cc, known = nvidiaComputeCapability[strings.ToLower(name)]
	return cc, known
}
