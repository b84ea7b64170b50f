package schemas

import (
	"fmt"
	"math"
	"strconv"
)

// vkind is the shape of a parsed input value.
type vkind uint8

const (
	vNull vkind = iota
	vBool
	vInt
	vFloat
	vString
	vSeq
	vMap
)

// vnode is a format-neutral parsed value. JSON request bodies and YAML configuration files are
// both turned into vnodes first, so every wire type decodes with one set of rules and messages;
// the YAML path additionally carries line numbers.
type vnode struct {
	kind     vkind
	b        bool
	line     int // 1-based source line; 0 when unknown (JSON)
	i        int64
	f        float64
	s        string // string value, or the source text of a number
	items    []*vnode
	keys     []string
	keyLines []int // per key, once a key with a known line was set (YAML); nil for JSON
	vals     []*vnode
}

// get returns the value of a mapping key, or nil.
func (n *vnode) get(key string) *vnode {
	if n == nil || n.kind != vMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// describe names the value's shape for error messages.
func (n *vnode) describe() string {
	switch n.kind {
	case vNull:
		return "null"
	case vBool:
		return fmt.Sprintf("boolean %t", n.b)
	case vInt, vFloat:
		return "number " + n.text()
	case vString:
		return strconv.Quote(n.s)
	case vSeq:
		return "a list"
	default:
		return "an object"
	}
}

// text renders a scalar the way Python's str() would, which is what upstream's coercion of
// numbers into strings produces (e.g. YAML `7.5` → "7.5", `8.0` → "8.0").
func (n *vnode) text() string {
	switch n.kind {
	case vString:
		return n.s
	case vInt:
		return strconv.FormatInt(n.i, 10)
	case vFloat:
		return pyFloat(n.f)
	case vBool:
		if n.b {
			return "True"
		}
		return "False"
	}
	return ""
}

// pyFloat formats a float like Python's repr: integral values keep a trailing ".0".
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	abs := math.Abs(f)
	if abs >= 1e-4 && abs < 1e16 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}

// jsonToNode parses a JSON document into a vnode, keeping key order.
func jsonToNode(data []byte) (*vnode, error) {
	// One copy of the input backs every string value and key.
	s := &jsonScanner{data: data, text: string(data)}
	n, err := s.value()
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return nil, fmt.Errorf("invalid JSON: trailing data after the value")
	}
	return n, nil
}

// setKey adds or (for a repeated JSON key, last one wins) replaces a mapping entry.
func (n *vnode) setKey(key string, line int, val *vnode) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = val
			return
		}
	}
	if line > 0 || n.keyLines != nil {
		for len(n.keyLines) < len(n.keys) {
			n.keyLines = append(n.keyLines, 0)
		}
		n.keyLines = append(n.keyLines, line)
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, val)
}

// numberNode classifies numeric source text as an int or a float.
func numberNode(text string) vnode {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return vnode{kind: vInt, i: i, s: text}
	}
	f, _ := strconv.ParseFloat(text, 64)
	return vnode{kind: vFloat, f: f, s: text}
}
