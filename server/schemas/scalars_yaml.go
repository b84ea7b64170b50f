package schemas

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlToNode converts a yaml.v3 node tree into a vnode, resolving aliases and merge keys.
// Duplicate mapping keys are an error (they are almost always a mistake in a config file),
// and so are recursive aliases and alias expansions beyond a size budget.
func yamlToNode(y *yaml.Node) (*vnode, error) {
	c := &yamlConverter{active: map[*yaml.Node]bool{}, budget: 1 << 20}
	return c.convert(y)
}

type yamlConverter struct {
	active map[*yaml.Node]bool // aliases being expanded (cycle detection)
	budget int                 // nodes left to produce
}

func (c *yamlConverter) convert(y *yaml.Node) (*vnode, error) {
	if c.budget--; c.budget < 0 {
		return nil, &FieldError{Line: y.Line, Msg: "document too large (alias expansion)"}
	}
	switch y.Kind {
	case 0:
		return &vnode{kind: vNull}, nil
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &vnode{kind: vNull, line: y.Line}, nil
		}
		return c.convert(y.Content[0])
	case yaml.AliasNode:
		if y.Alias == nil || c.active[y.Alias] {
			return nil, &FieldError{Line: y.Line, Msg: "recursive YAML alias *" + y.Value}
		}
		c.active[y.Alias] = true
		defer delete(c.active, y.Alias)
		return c.convert(y.Alias)
	case yaml.SequenceNode:
		n := &vnode{kind: vSeq, line: y.Line}
		for _, item := range y.Content {
			v, err := c.convert(item)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		return n, nil
	case yaml.MappingNode:
		return c.mapping(y)
	}
	return yamlScalar(y), nil
}

func (c *yamlConverter) mapping(y *yaml.Node) (*vnode, error) {
	n := &vnode{kind: vMap, line: y.Line}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		val, err := c.convert(v)
		if err != nil {
			return nil, err
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			if err := mergeInto(n, val, k.Line); err != nil {
				return nil, err
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &FieldError{Line: k.Line, Msg: "mapping keys must be plain strings"}
		}
		if n.get(k.Value) != nil {
			return nil, &FieldError{Path: k.Value, Line: k.Line, Msg: "duplicate key"}
		}
		n.setKey(k.Value, k.Line, val)
	}
	return n, nil
}

// mergeInto applies a YAML `<<` merge: keys already present win.
func mergeInto(n, src *vnode, line int) error {
	srcs := []*vnode{src}
	if src.kind == vSeq {
		srcs = src.items
	}
	for _, s := range srcs {
		if s.kind != vMap {
			return &FieldError{Line: line, Msg: "a merge key (<<) needs a mapping"}
		}
		for i, k := range s.keys {
			if n.get(k) == nil {
				n.setKey(k, s.keyLines[i], s.vals[i])
			}
		}
	}
	return nil
}

// yaml11Bools are the plain scalars PyYAML (the upstream CLI's YAML 1.1 parser) reads as
// booleans; yaml.v3 (YAML 1.2) reads most of them as strings.
var yaml11Bools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func yamlScalar(y *yaml.Node) *vnode {
	n := &vnode{line: y.Line, s: y.Value}
	tag := y.ShortTag()
	if b, ok := yaml11Bools[y.Value]; ok && tag == "!!str" && y.Style == 0 {
		n.kind, n.b = vBool, b
		return n
	}
	switch tag {
	case "!!null":
		n.kind = vNull
	case "!!bool":
		n.kind = vBool
		n.b = strings.EqualFold(y.Value, "true")
	case "!!int":
		n.kind = vInt
		if y.Decode(&n.i) != nil {
			n.kind = vFloat
			if y.Decode(&n.f) != nil {
				n.kind = vString
			}
		}
	case "!!float":
		n.kind = vFloat
		if y.Decode(&n.f) != nil {
			n.kind = vString
		}
	default:
		n.kind = vString
	}
	return n
}
