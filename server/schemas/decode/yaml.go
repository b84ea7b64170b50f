package decode

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// FromYAML converts a yaml.v3 node tree into a Node, resolving aliases and merge keys.
// Duplicate mapping keys are an error (they are almost always a mistake in a config file),
// and so are recursive aliases and alias expansions beyond a size budget.
func FromYAML(y *yaml.Node) (*Node, error) {
	c := &yamlConverter{active: map[*yaml.Node]bool{}, budget: 1 << 20}
	return c.convert(y)
}

type yamlConverter struct {
	active map[*yaml.Node]bool // aliases being expanded (cycle detection)
	budget int                 // nodes left to produce
}

func (c *yamlConverter) convert(y *yaml.Node) (*Node, error) {
	if c.budget--; c.budget < 0 {
		return nil, &FieldError{Line: y.Line, Msg: "document too large (alias expansion)"}
	}
	switch y.Kind {
	case 0:
		return &Node{Kind: NullNode}, nil
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &Node{Kind: NullNode, Line: y.Line}, nil
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
		n := &Node{Kind: SeqNode, Line: y.Line}
		for _, item := range y.Content {
			v, err := c.convert(item)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, v)
		}
		return n, nil
	case yaml.MappingNode:
		return c.mapping(y)
	}
	return yamlScalar(y), nil
}

func (c *yamlConverter) mapping(y *yaml.Node) (*Node, error) {
	n := &Node{Kind: MapNode, Line: y.Line}
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
		if n.Get(k.Value) != nil {
			return nil, &FieldError{Path: k.Value, Line: k.Line, Msg: "duplicate key"}
		}
		n.SetKey(k.Value, k.Line, val)
	}
	return n, nil
}

// mergeInto applies a YAML `<<` merge: keys already present win.
func mergeInto(n, src *Node, line int) error {
	srcs := []*Node{src}
	if src.Kind == SeqNode {
		srcs = src.Items
	}
	for _, s := range srcs {
		if s.Kind != MapNode {
			return &FieldError{Line: line, Msg: "a merge key (<<) needs a mapping"}
		}
		for i, k := range s.Keys {
			if n.Get(k) == nil {
				n.SetKey(k, s.KeyLines[i], s.Vals[i])
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

func yamlScalar(y *yaml.Node) *Node {
	n := &Node{Line: y.Line, Str: y.Value}
	tag := y.ShortTag()
	if b, ok := yaml11Bools[y.Value]; ok && tag == "!!str" && y.Style == 0 {
		n.Kind, n.Bool = BoolNode, b
		return n
	}
	switch tag {
	case "!!null":
		n.Kind = NullNode
	case "!!bool":
		n.Kind = BoolNode
		n.Bool = strings.EqualFold(y.Value, "true")
	case "!!int":
		n.Kind = IntNode
		if y.Decode(&n.Int) != nil {
			n.Kind = FloatNode
			if y.Decode(&n.Float) != nil {
				n.Kind = StringNode
			}
		}
	case "!!float":
		n.Kind = FloatNode
		if y.Decode(&n.Float) != nil {
			n.Kind = StringNode
		}
	default:
		n.Kind = StringNode
	}
	return n
}
