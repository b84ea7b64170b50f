package decode

import (
	"fmt"
	"math"
	"strconv"
)

// Kind is the shape of a parsed input value.
type Kind uint8

const (
	NullNode Kind = iota
	BoolNode
	IntNode
	FloatNode
	StringNode
	SeqNode
	MapNode
)

// Node is a format-neutral parsed value. JSON request bodies and YAML configuration files are
// both turned into Nodes first, so every wire type decodes with one set of rules and messages;
// the YAML path additionally carries line numbers.
type Node struct {
	Kind     Kind
	Bool     bool
	Line     int // 1-based source line; 0 when unknown (JSON)
	Int      int64
	Float    float64
	Str      string // string value, or the source text of a number
	Items    []*Node
	Keys     []string
	KeyLines []int // per key, once a key with a known line was set (YAML); nil for JSON
	Vals     []*Node
}

// Get returns the value of a mapping key, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Vals[i]
		}
	}
	return nil
}

// Describe names the value's shape for error messages.
func (n *Node) Describe() string {
	switch n.Kind {
	case NullNode:
		return "null"
	case BoolNode:
		return fmt.Sprintf("boolean %t", n.Bool)
	case IntNode, FloatNode:
		return "number " + n.Text()
	case StringNode:
		return strconv.Quote(n.Str)
	case SeqNode:
		return "a list"
	default:
		return "an object"
	}
}

// Text renders a scalar the way Python's str() would, which is what upstream's coercion of
// numbers into strings produces (e.g. YAML `7.5` → "7.5", `8.0` → "8.0").
func (n *Node) Text() string {
	switch n.Kind {
	case StringNode:
		return n.Str
	case IntNode:
		return strconv.FormatInt(n.Int, 10)
	case FloatNode:
		return PyFloat(n.Float)
	case BoolNode:
		if n.Bool {
			return "True"
		}
		return "False"
	}
	return ""
}

// PyFloat formats a float like Python's repr: integral values keep a trailing ".0".
func PyFloat(f float64) string {
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

// ParseJSON parses a JSON document into a Node, keeping key order.
func ParseJSON(data []byte) (*Node, error) {
	// Strings and numbers are copied out of data, so the tree does not pin it.
	s := &jsonScanner{data: data}
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

// SetKey adds or (for a repeated JSON key, last one wins) replaces a mapping entry.
func (n *Node) SetKey(key string, line int, val *Node) {
	for i, k := range n.Keys {
		if k == key {
			n.Vals[i] = val
			return
		}
	}
	if line > 0 || n.KeyLines != nil {
		for len(n.KeyLines) < len(n.Keys) {
			n.KeyLines = append(n.KeyLines, 0)
		}
		n.KeyLines = append(n.KeyLines, line)
	}
	n.Keys = append(n.Keys, key)
	n.Vals = append(n.Vals, val)
}

// numberNode classifies numeric source text as an int or a float.
func numberNode(text string) Node {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return Node{Kind: IntNode, Int: i, Str: text}
	}
	f, _ := strconv.ParseFloat(text, 64)
	return Node{Kind: FloatNode, Float: f, Str: text}
}
