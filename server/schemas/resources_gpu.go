package schemas

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
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

func (v *GPUVendor) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	s, err := decode.AsString(n)
	if err != nil {
		return err
	}
	if *v, err = ParseGPUVendor(s); err != nil {
		return decode.Errorf(n, "%v", err)
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

func (g *GPUSpec) SetDefaults() { g.Count = RangeAtLeast(1) }

// ParseGPUSpec parses the string form. Tokens are split by ":"; each token is, in this order
// of checks: a vendor keyword; a name list if it starts with a letter (comma-separated); a
// memory range if it contains a letter (a unit); otherwise a count range. Each kind may
// appear once.
func ParseGPUSpec(spec string) (GPUSpec, error) {
	var g GPUSpec
	g.SetDefaults()
	err := g.parse(&decode.Node{Kind: decode.StringNode, Str: spec})
	return g, err
}

// UnmarshalJSON accepts every input form listed on GPUSpec.
func (g *GPUSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, g) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (g *GPUSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, g) }

func (g *GPUSpec) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.NullNode:
		return nil
	case decode.IntNode, decode.StringNode:
		return g.parse(n)
	case decode.MapNode:
		if name := n.Get("name"); name != nil && name.Kind != decode.SeqNode && name.Kind != decode.NullNode {
			n = withKey(n, "name", &decode.Node{Kind: decode.SeqNode, Items: []*decode.Node{name}, Line: name.Line})
		}
		if err := d.Struct(n, g); err != nil {
			return err
		}
		g.Name = stripTPUPrefix(g.Name)
		return nil
	}
	return decode.Errorf(n, "invalid gpu spec %s; %s", n.Describe(), gpuForms)
}

func (g *GPUSpec) parse(n *decode.Node) error {
	spec := strings.ReplaceAll(n.Text(), " ", "")
	fail := func(format string, args ...any) error {
		return decode.Errorf(n, "%q: %s; %s", spec, fmt.Sprintf(format, args...), gpuForms)
	}
	failPart := func(part string, err error) error {
		return decode.Errorf(n, "%q: %s: %s", spec, part, decode.MsgOf(err))
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
		if err := g.Count.UnmarshalNode(nil, &decode.Node{Kind: decode.StringNode, Str: countTok}); err != nil {
			return failPart("count", err)
		}
	}
	if memTok != "" {
		var m MemoryRange
		if err := m.UnmarshalNode(nil, &decode.Node{Kind: decode.StringNode, Str: memTok}); err != nil {
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
func withKey(n *decode.Node, key string, val *decode.Node) *decode.Node {
	c := *n
	c.Vals = append([]*decode.Node(nil), n.Vals...)
	for i, k := range c.Keys {
		if k == key {
			c.Vals[i] = val
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
