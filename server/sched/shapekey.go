package sched

import (
	"encoding/binary"
	"math"

	"github.com/dstackgo/dstack/server/schemas"
)

// appendShapeKey encodes everything that decides which offers candidates make for a job:
// the effective requirements, the profile's instance filters and the multi-node flag. Jobs
// with equal keys share one sorted offer list. Strings are length-prefixed, so the encoding
// is unambiguous.
func appendShapeKey(b []byte, req *schemas.Requirements, p *schemas.Profile, multinode bool) []byte {
	k := keyWriter{b}
	r := &req.Resources
	k.flag(multinode)
	k.strp((*string)(r.CPU.Arch))
	k.intRange(r.CPU.Count)
	k.memRange(&r.Memory)
	k.flag(r.GPU != nil)
	if g := r.GPU; g != nil {
		k.strp((*string)(g.Vendor))
		k.strs(g.Name)
		k.intRange(g.Count)
		k.memRange(g.Memory)
		k.memRange(g.TotalMemory)
		k.flag(g.ComputeCapability != nil)
		if cc := g.ComputeCapability; cc != nil {
			k.int(cc[0])
			k.int(cc[1])
		}
	}
	k.flag(r.Disk != nil)
	if r.Disk != nil {
		k.memRange(&r.Disk.Size)
	}
	k.flag(req.Spot != nil && *req.Spot)
	k.flag(req.Spot != nil && !*req.Spot)
	k.floatp(req.MaxPrice)
	k.int(len(p.Fleets))
	for _, f := range p.Fleets {
		k.strp(f.Project)
		k.str(f.Name)
	}
	k.flag(p.Fleets != nil)
	k.int(len(p.Instances))
	for _, s := range p.Instances {
		k.strp(s.Name)
		k.strp(s.Hostname)
		k.flag(s.Fleet != nil)
		if s.Fleet != nil {
			k.strp(s.Fleet.Project)
			k.str(s.Fleet.Name)
		}
		k.intp(s.Instance)
	}
	k.flag(p.Instances != nil)
	k.strs(p.Backends)
	k.strs(p.Regions)
	k.strs(p.InstanceTypes)
	k.strs(p.AvailabilityZones)
	return k.b
}

type keyWriter struct{ b []byte }

func (k *keyWriter) flag(v bool) {
	if v {
		k.b = append(k.b, 'T')
	} else {
		k.b = append(k.b, 'F')
	}
}

func (k *keyWriter) int(v int) { k.b = binary.AppendVarint(k.b, int64(v)) }

func (k *keyWriter) str(s string) {
	k.int(len(s))
	k.b = append(k.b, s...)
}

func (k *keyWriter) strp(s *string) {
	k.flag(s != nil)
	if s != nil {
		k.str(*s)
	}
}

func (k *keyWriter) strs(list []string) {
	k.flag(list != nil)
	k.int(len(list))
	for _, s := range list {
		k.str(s)
	}
}

func (k *keyWriter) intp(v *int) {
	k.flag(v != nil)
	if v != nil {
		k.int(*v)
	}
}

func (k *keyWriter) floatp(v *float64) {
	k.flag(v != nil)
	if v != nil {
		k.b = binary.LittleEndian.AppendUint64(k.b, math.Float64bits(*v))
	}
}

func (k *keyWriter) intRange(r schemas.IntRange) {
	k.intp(r.Min)
	k.intp(r.Max)
}

func (k *keyWriter) memRange(r *schemas.MemoryRange) {
	k.flag(r != nil)
	if r != nil {
		k.floatp((*float64)(r.Min))
		k.floatp((*float64)(r.Max))
	}
}
