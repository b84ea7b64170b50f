package config

import (
	"encoding/json"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// JSON is the backend's settings as JSON, for its configurator.
func (b *Backend) JSON() (json.RawMessage, error) {
	var v any
	if err := b.Node.Decode(&v); err != nil {
		return nil, fmt.Errorf("backend %s: %w", b.Type, err)
	}
	raw, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", b.Type, err)
	}
	return raw, nil
}

// jsonable turns YAML's map[any]any (non-string keys) into JSON objects.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
	}
	return v
}

// LineOf is the line of the setting at path within the backend ("creds",
// "access_key"; "regions", "1"), or of the closest enclosing one.
func (b *Backend) LineOf(path []string) int {
	n := &b.Node
	line := b.Line
	for _, p := range path {
		next := child(n, p)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

func child(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
					return n.Content[i] // the key's line for a value on the same line
				} else {
					return v
				}
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
