package schemas

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// GPUVendor is an accelerator vendor. Input is case-insensitive; "tpu" is an alias of google
// and "tt" of tenstorrent.
type GPUVendor string

// Accelerator vendors.
const (
	GPUVendorNVIDIA      GPUVendor = "nvidia"
	GPUVendorAMD         GPUVendor = "amd"
	GPUVendorGoogle      GPUVendor = "google"
	GPUVendorIntel       GPUVendor = "intel"
	GPUVendorTenstorrent GPUVendor = "tenstorrent"
)

const gpuVendorForms = "accepted: nvidia, amd, google (alias tpu), intel, tenstorrent (alias tt)"

// ParseGPUVendor parses a vendor name or alias.
func ParseGPUVendor(s string) (GPUVendor, error) {
	switch v := GPUVendor(strings.ToLower(s)); v {
	case "tpu":
		return GPUVendorGoogle, nil
	case "tt":
		return GPUVendorTenstorrent, nil
	case GPUVendorNVIDIA, GPUVendorAMD, GPUVendorGoogle, GPUVendorIntel, GPUVendorTenstorrent:
		return v, nil
	}
	return "", fmt.Errorf("invalid GPU vendor %q; %s", s, gpuVendorForms)
}

func (v *GPUVendor) unmarshalNode(_ *decoder, n *vnode) error {
	s, err := nodeString(n)
	if err != nil {
		return err
	}
	if *v, err = ParseGPUVendor(s); err != nil {
		return errorf(n, "%v", err)
	}
	return nil
}

// GPUSpec is the GPU requirement. Input: an object, a count (2), or a ":"-separated string
// (see ParseGPUSpec). name may be a single string; a legacy "tpu-" name prefix is dropped.
// When a GPU spec is given, count defaults to 1.. .
type GPUSpec struct {
	Vendor            *GPUVendor         `json:"vendor"`
	Name              []string           `json:"name"`
	Count             IntRange           `json:"count"`
	Memory            *MemoryRange       `json:"memory"` // per GPU
	TotalMemory       *MemoryRange       `json:"total_memory"`
	ComputeCapability *ComputeCapability `json:"compute_capability"`
}

const gpuForms = `accepted: a count, or [vendor:][name[,name...]:][memory:][count] such as A100:2, 24GB.., A100:40GB..:2, nvidia:16GB:1..2, H100,A100:8, tpu:v5e-8`

func (g *GPUSpec) setDefaults() { g.Count = RangeAtLeast(1) }

// ParseGPUSpec parses the string form. Tokens are split by ":"; each token is, in this order
// of checks: a vendor keyword; a name list if it starts with a letter (comma-separated); a
// memory range if it contains a letter (a unit); otherwise a count range. Each kind may
// appear once.
func ParseGPUSpec(spec string) (GPUSpec, error) {
	var g GPUSpec
	g.setDefaults()
	err := g.parse(&vnode{kind: vString, s: spec})
	return g, err
}

// UnmarshalJSON accepts every input form listed on GPUSpec.
func (g *GPUSpec) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, g) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (g *GPUSpec) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, g) }

func (g *GPUSpec) unmarshalNode(d *decoder, n *vnode) error {
	switch n.kind {
	case vNull:
		return nil
	case vInt, vString:
		return g.parse(n)
	case vMap:
		if name := n.get("name"); name != nil && name.kind != vSeq && name.kind != vNull {
			n = withKey(n, "name", &vnode{kind: vSeq, items: []*vnode{name}, line: name.line})
		}
		if err := d.structInto(n, g); err != nil {
			return err
		}
		g.Name = stripTPUPrefix(g.Name)
		return nil
	}
	return errorf(n, "invalid gpu spec %s; %s", n.describe(), gpuForms)
}

func (g *GPUSpec) parse(n *vnode) error {
	spec := strings.ReplaceAll(n.text(), " ", "")
	fail := func(format string, args ...any) error {
		return errorf(n, "%q: %s; %s", spec, fmt.Sprintf(format, args...), gpuForms)
	}
	failPart := func(part string, err error) error {
		return errorf(n, "%q: %s: %s", spec, part, msgOf(err))
	}
	var countTok, memTok string
	var hasVendor bool
	for _, tok := range strings.Split(spec, ":") {
		first, _ := utf8.DecodeRuneInString(tok)
		if tok == "" {
			return fail("empty token")
		}
		if v, err := ParseGPUVendor(tok); err == nil {
			if hasVendor {
				return fail("more than one vendor (%s, %s)", *g.Vendor, tok)
			}
			hasVendor, g.Vendor = true, &v
		} else if unicode.IsLetter(first) {
			if g.Name != nil {
				return fail("more than one GPU name token (%s, %s)", strings.Join(g.Name, ","), tok)
			}
			g.Name = strings.Split(tok, ",")
			for _, name := range g.Name {
				if name == "" {
					return fail("empty GPU name in %q", tok)
				}
			}
		} else if strings.IndexFunc(tok, unicode.IsLetter) >= 0 {
			if memTok != "" {
				return fail("more than one memory token (%s, %s)", memTok, tok)
			}
			memTok = tok
		} else {
			if countTok != "" {
				return fail("more than one count token (%s, %s)", countTok, tok)
			}
			countTok = tok
		}
	}
	g.Name = stripTPUPrefix(g.Name)
	if countTok != "" {
		if err := g.Count.unmarshalNode(nil, &vnode{kind: vString, s: countTok}); err != nil {
			return failPart("count", err)
		}
	}
	if memTok != "" {
		var m MemoryRange
		if err := m.unmarshalNode(nil, &vnode{kind: vString, s: memTok}); err != nil {
			return failPart("memory", err)
		}
		g.Memory = &m
	}
	return nil
}

func stripTPUPrefix(names []string) []string {
	for i, name := range names {
		names[i] = strings.TrimPrefix(name, "tpu-")
	}
	return names
}

// withKey returns a shallow copy of mapping n with key's value replaced.
func withKey(n *vnode, key string, val *vnode) *vnode {
	c := *n
	c.vals = append([]*vnode(nil), n.vals...)
	for i, k := range c.keys {
		if k == key {
			c.vals[i] = val
		}
	}
	return &c
}

// Clone returns a deep copy.
func (g GPUSpec) Clone() GPUSpec {
	c := g
	c.Vendor = clonePtr(g.Vendor)
	if g.Name != nil {
		c.Name = append([]string{}, g.Name...)
	}
	c.Count = g.Count.clone()
	if g.Memory != nil {
		m := g.Memory.clone()
		c.Memory = &m
	}
	if g.TotalMemory != nil {
		m := g.TotalMemory.clone()
		c.TotalMemory = &m
	}
	c.ComputeCapability = clonePtr(g.ComputeCapability)
	return c
}

// String renders the spec in the shorthand grammar, e.g. "nvidia:A100,H100:40GB..:2".
func (g GPUSpec) String() string {
	var parts []string
	if g.Vendor != nil {
		parts = append(parts, string(*g.Vendor))
	}
	if len(g.Name) > 0 {
		parts = append(parts, strings.Join(g.Name, ","))
	}
	if g.Memory != nil {
		parts = append(parts, g.Memory.String())
	}
	parts = append(parts, g.Count.String())
	return strings.Join(parts, ":")
}
