package schemas

import (
	"strings"
)

// knownAccelerators lists accelerator model names (lower case) per vendor, as the gpuhunt
// catalog upstream uses for vendor inference knows them.
var knownAccelerators = map[GPUVendor][]string{
	GPUVendorNVIDIA: {
		"a10", "a16", "a40", "a100", "a10g", "a4000", "a4500", "a5000", "a6000",
		"h100", "h100nvl", "h200", "h200nvl", "b200", "gb200", "b300", "gh200",
		"l4", "l40", "l40s", "p100", "t4", "v100",
		"rtx2060", "rtx2060super", "rtx2070", "rtx2070super", "rtx2080", "rtx2080super", "rtx2080ti",
		"rtx3050", "rtx3060", "rtx3060ti", "rtx3070", "rtx3070ti", "rtx3080", "rtx3080ti",
		"rtx3090", "rtx3090ti", "rtx4060", "rtx4060ti", "rtx4070", "rtx4070super", "rtx4070ti",
		"rtx4070tisuper", "rtx4080", "rtx4080super", "rtx4090", "rtx5060", "rtx5060ti", "rtx5070",
		"rtx5070ti", "rtx5080", "rtx5090", "rtx6000", "rtx2000ada", "rtx4000ada", "rtx6000ada",
		"rtxpro4500", "rtxpro6000",
	},
	GPUVendorAMD: {
		"mi100", "mi210", "mi250", "mi250x", "mi300a", "mi300x", "mi308x", "mi325x", "mi350x", "mi355x",
	},
	GPUVendorIntel:       {"gaudi", "gaudi2", "gaudi3"},
	GPUVendorTenstorrent: {"n150", "n300", "tt-galaxy-wh", "p100a", "p150", "p300", "tt-galaxy-bh"},
}

// knownTPUVersions are TPU generations; a TPU name is "<version>-<cores>", e.g. "v5p-8".
var knownTPUVersions = []string{"v2", "v3", "v4", "v5p", "v5litepod", "v6e"}

// DetectGPUVendors returns the vendors that make an accelerator with this model name
// (case-insensitive); none when the name is unknown.
func DetectGPUVendors(name string) []GPUVendor {
	name = strings.ToLower(name)
	var out []GPUVendor
	for _, v := range []GPUVendor{GPUVendorNVIDIA, GPUVendorAMD, GPUVendorIntel, GPUVendorTenstorrent} {
		for _, known := range knownAccelerators[v] {
			if known == name {
				out = append(out, v)
				break
			}
		}
	}
	version, cores, _ := strings.Cut(name, "-")
	if isDigits(cores) {
		for _, known := range knownTPUVersions {
			if known == version {
				out = append(out, GPUVendorGoogle)
				break
			}
		}
	}
	return out
}

// singleVendorOf returns the vendor when every name is known and all belong to one vendor.
func singleVendorOf(names []string) (GPUVendor, bool) {
	var found GPUVendor
	for _, name := range names {
		vendors := DetectGPUVendors(name)
		if len(vendors) != 1 || (found != "" && vendors[0] != found) {
			return "", false
		}
		found = vendors[0]
	}
	return found, found != ""
}
