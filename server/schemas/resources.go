package schemas

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// ResourcesSpec is a run's (or fleet's) resource requirements. The defaults (see
// DefaultResourcesSpec) are what an empty `resources:` means; the CLI sends them expanded:
//
//	{"cpu":{"arch":null,"count":{"min":2,"max":null}},"memory":{"min":8.0,"max":null},
//	 "shm_size":null,"gpu":{"vendor":null,"name":null,"count":{"min":0,"max":null},...},
//	 "disk":{"size":{"min":100.0,"max":null}}}
type ResourcesSpec struct {
	CPU     CPUSpec     `json:"cpu"`
	Memory  MemoryRange `json:"memory"`
	ShmSize *Memory     `json:"shm_size"`
	GPU     *GPUSpec    `json:"gpu"` // nullable for backward compatibility; see WithServerDefaults
	Disk    *DiskSpec   `json:"disk"`
}

// DefaultResourcesSpec returns the defaults: 2.. CPUs, 8GB.. memory, no GPU constraint
// (count 0..), 100GB.. disk.
func DefaultResourcesSpec() ResourcesSpec {
	var r ResourcesSpec
	r.SetDefaults()
	return r
}

func (r *ResourcesSpec) SetDefaults() {
	r.CPU.SetDefaults()
	r.Memory = RangeAtLeast[Memory](8)
	r.GPU = &GPUSpec{Count: RangeAtLeast(0)}
	r.Disk = &DiskSpec{Size: RangeAtLeast[Memory](100)}
}

// UnmarshalJSON decodes a resources object; missing fields keep their defaults.
func (r *ResourcesSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes a resources mapping strictly (unknown keys are errors).
func (r *ResourcesSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// Clone returns a deep copy.
func (r ResourcesSpec) Clone() ResourcesSpec {
	c := r
	c.CPU.Count = r.CPU.Count.clone()
	c.CPU.Arch = clonePtr(r.CPU.Arch)
	c.Memory = r.Memory.clone()
	c.ShmSize = clonePtr(r.ShmSize)
	if r.GPU != nil {
		g := r.GPU.Clone()
		c.GPU = &g
	}
	if r.Disk != nil {
		c.Disk = &DiskSpec{Size: r.Disk.Size.clone()}
	}
	return c
}

// WithServerDefaults returns a copy with the server-side defaults upstream applies when a run
// is submitted: a missing gpu becomes {count: 0..}; an unset gpu vendor becomes nvidia when
// GPUs may be requested (count max ≠ 0) by bare count and the default (non-custom) image is
// used, or the single vendor all given names belong to. cpu.arch stays null.
func (r ResourcesSpec) WithServerDefaults(customImage bool) ResourcesSpec {
	c := r.Clone()
	if c.GPU == nil {
		c.GPU = &GPUSpec{Count: RangeAtLeast(0)}
	}
	g := c.GPU
	if g.Vendor != nil || (g.Count.Max != nil && *g.Count.Max == 0) {
		return c
	}
	if len(g.Name) == 0 {
		if !customImage {
			v := GPUVendorNVIDIA
			g.Vendor = &v
		}
		return c
	}
	if v, ok := singleVendorOf(g.Name); ok {
		g.Vendor = &v
	}
	return c
}

// CPUArch is a CPU architecture: x86 or arm (input is case-insensitive).
type CPUArch string

// CPU architectures.
const (
	CPUArchX86 CPUArch = "x86"
	CPUArchARM CPUArch = "arm"
)

func (a *CPUArch) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	s, err := decode.AsString(n)
	if err != nil {
		return err
	}
	v := CPUArch(strings.ToLower(s))
	if v != CPUArchX86 && v != CPUArchARM {
		return decode.Errorf(n, "invalid CPU architecture %q; accepted: x86, arm", s)
	}
	*a = v
	return nil
}

// CPUSpec is the CPU requirement. Input: an object {arch?, count?}, a count (8, "4..",
// a range object {min, max}), or a "<arch>:<count>" string such as "arm:8".
type CPUSpec struct {
	Arch  *CPUArch `json:"arch"`
	Count IntRange `json:"count"`
}

const cpuForms = `accepted: a count (8, "4..", "2..8"), an architecture (x86, arm), "<arch>:<count>" such as "arm:8", or {arch, count}`

func (c *CPUSpec) SetDefaults() { c.Count = RangeAtLeast(2) }

// UnmarshalJSON accepts every input form listed on CPUSpec.
func (c *CPUSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (c *CPUSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *CPUSpec) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.NullNode:
		return nil
	case decode.IntNode, decode.StringNode:
		return c.parse(n)
	case decode.MapNode:
		if isRangeObject(n) { // legacy: a bare count range
			return d.Into(n, &c.Count)
		}
		return d.Struct(n, c)
	}
	return decode.Errorf(n, "invalid cpu spec %s; %s", n.Describe(), cpuForms)
}

func (c *CPUSpec) parse(n *decode.Node) error {
	spec := strings.ReplaceAll(n.Text(), " ", "")
	var hasCount, hasArch bool
	for _, tok := range strings.Split(spec, ":") {
		tn := &decode.Node{Kind: decode.StringNode, Str: tok, Line: n.Line}
		switch {
		case tok == "":
			return decode.Errorf(n, "%q: empty token; %s", spec, cpuForms)
		case strings.Contains(tok, "..") || isDigits(tok):
			if hasCount {
				return decode.Errorf(n, "%q: more than one CPU count; %s", spec, cpuForms)
			}
			hasCount = true
			if err := c.Count.UnmarshalNode(nil, tn); err != nil {
				return decode.Errorf(n, "%q: %s", spec, decode.MsgOf(err))
			}
		default:
			if hasArch {
				return decode.Errorf(n, "%q: more than one CPU architecture; %s", spec, cpuForms)
			}
			hasArch = true
			var a CPUArch
			if err := a.UnmarshalNode(nil, tn); err != nil {
				return decode.Errorf(n, "%q: %s; %s", spec, decode.MsgOf(err), cpuForms)
			}
			c.Arch = &a
		}
	}
	return nil
}

// DiskSpec is the disk requirement. Input: {size} or a bare size/range ("100GB" means
// exactly 100GB, "200GB.." at least 200GB).
type DiskSpec struct {
	Size MemoryRange `json:"size" dstack:"required"`
}

// UnmarshalJSON accepts every input form listed on DiskSpec.
func (s *DiskSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (s *DiskSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

func (s *DiskSpec) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.StringNode, decode.IntNode, decode.FloatNode:
		return s.Size.UnmarshalNode(d, n)
	case decode.MapNode:
		return d.Struct(n, s)
	}
	return decode.Errorf(n, "invalid disk spec %s; accepted: a size such as 100GB, a range such as 200GB.., or {size}", n.Describe())
}

// isRangeObject reports whether n is a non-empty mapping with only min/max keys.
func isRangeObject(n *decode.Node) bool {
	if n.Kind != decode.MapNode || len(n.Keys) == 0 {
		return false
	}
	for _, k := range n.Keys {
		if k != "min" && k != "max" {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (r Range[T]) clone() Range[T] { return Range[T]{Min: clonePtr(r.Min), Max: clonePtr(r.Max)} }

// String renders the spec for messages, e.g. "cpu=2.. mem=8GB.. gpu=A100:2 disk=100GB..".
func (r ResourcesSpec) String() string {
	parts := []string{"cpu=" + r.CPU.Count.String(), "mem=" + r.Memory.String()}
	if r.CPU.Arch != nil {
		parts[0] = fmt.Sprintf("cpu=%s:%s", *r.CPU.Arch, r.CPU.Count)
	}
	if r.GPU != nil && !(r.GPU.Count.Max != nil && *r.GPU.Count.Max == 0) {
		parts = append(parts, "gpu="+r.GPU.String())
	}
	if r.Disk != nil {
		parts = append(parts, "disk="+r.Disk.Size.String())
	}
	return strings.Join(parts, " ")
}
