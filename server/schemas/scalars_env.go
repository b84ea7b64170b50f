package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// Env is an ordered mapping of environment variables. Input: a mapping {NAME: value} (numbers
// become strings) or a list of "NAME=value" / "NAME" strings. A bare "NAME" has no value yet:
// the CLI fills it from the local environment (upstream's EnvSentinel, encoded as
// {"key": "NAME"}). Output: a JSON object in input order. The zero value is empty.
type Env struct {
	keys  []string
	vals  map[string]string
	unset map[string]bool
}

var envListItem = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(=.*)?$`)

const envForms = `accepted: a mapping {NAME: value} or a list of "NAME=value" / "NAME" strings`

// Len returns the number of variables, resolved or not.
func (e Env) Len() int { return len(e.keys) }

// Keys returns the variable names in order.
func (e Env) Keys() []string { return append([]string(nil), e.keys...) }

// Get returns a variable's value; ok is false when it is absent or unresolved.
func (e Env) Get(key string) (value string, ok bool) {
	v, ok := e.vals[key]
	return v, ok
}

// Set adds or replaces a variable with a value.
func (e *Env) Set(key, value string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, had := e.vals[key]; !had && !e.unset[key] {
		e.keys = append(e.keys, key)
	}
	delete(e.unset, key)
	e.vals[key] = value
}

// setUnresolved adds a variable whose value is to be taken from the local environment.
func (e *Env) setUnresolved(key string) {
	if e.unset == nil {
		e.unset = map[string]bool{}
	}
	e.keys = append(e.keys, key)
	e.unset[key] = true
}

// Unresolved lists the variables given without a value.
func (e Env) Unresolved() []string {
	var out []string
	for _, k := range e.keys {
		if e.unset[k] {
			out = append(out, k)
		}
	}
	return out
}

// Resolve fills unresolved variables from lookup (e.g. os.LookupEnv) and fails naming the
// ones lookup does not know.
func (e *Env) Resolve(lookup func(string) (string, bool)) error {
	var missing []string
	for _, k := range e.Unresolved() {
		if v, ok := lookup(k); ok {
			e.Set(k, v)
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Map returns the resolved variables as a plain map.
func (e Env) Map() map[string]string {
	out := make(map[string]string, len(e.vals))
	for k, v := range e.vals {
		out[k] = v
	}
	return out
}

// Clone returns a deep copy.
func (e Env) Clone() Env {
	var c Env
	for _, k := range e.keys {
		if e.unset[k] {
			c.setUnresolved(k)
		} else {
			c.Set(k, e.vals[k])
		}
	}
	return c
}

// Equal reports whether e and o hold the same variables in the same order (go-cmp uses it).
func (e Env) Equal(o Env) bool {
	if len(e.keys) != len(o.keys) {
		return false
	}
	for i, k := range e.keys {
		if o.keys[i] != k || e.unset[k] != o.unset[k] || e.vals[k] != o.vals[k] {
			return false
		}
	}
	return true
}

// MarshalJSON writes an object in insertion order.
func (e Env) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range e.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		var vb []byte
		if e.unset[k] {
			vb, _ = json.Marshal(map[string]string{"key": k})
		} else {
			vb, _ = json.Marshal(e.vals[k])
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON accepts a mapping or a list (see Env).
func (e *Env) UnmarshalJSON(b []byte) error { return decode.JSON(b, e) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (e *Env) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, e) }

func (e *Env) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	*e = Env{}
	switch n.Kind {
	case decode.NullNode:
		return nil
	case decode.MapNode:
		for i, k := range n.Keys {
			if err := e.addMapValue(d, k, n.Vals[i]); err != nil {
				return decode.WithPath(k, err)
			}
		}
		return nil
	case decode.SeqNode:
		for i, item := range n.Items {
			if err := e.addListItem(item); err != nil {
				return decode.WithPath(decode.IndexSeg(i), err)
			}
		}
		return nil
	}
	return decode.Errorf(n, "invalid env %s; %s", n.Describe(), envForms)
}

func (e *Env) addMapValue(d *decode.Decoder, key string, v *decode.Node) error {
	switch v.Kind {
	case decode.StringNode, decode.IntNode, decode.FloatNode:
		e.Set(key, v.Text())
		return nil
	case decode.MapNode: // an unresolved variable as upstream encodes it: {"key": NAME}
		var s struct {
			Key string `json:"key" dstack:"required"`
		}
		if err := d.Struct(v, &s); err != nil {
			return err
		}
		e.setUnresolved(key)
		return nil
	}
	return decode.Errorf(v, "expected a string value, got %s (quote it, e.g. \"true\")", v.Describe())
}

func (e *Env) addListItem(item *decode.Node) error {
	s, err := decode.AsString(item)
	if err != nil {
		return decode.Errorf(item, "expected a \"NAME=value\" or \"NAME\" string, got %s", item.Describe())
	}
	if !envListItem.MatchString(strings.TrimSuffix(s, "\n")) {
		return decode.Errorf(item, "invalid env item %q; accepted: \"NAME=value\" or \"NAME\" (NAME: letters, digits, _; not starting with a digit)", s)
	}
	key, value, hasValue := strings.Cut(s, "=")
	if _, dup := e.vals[key]; dup || e.unset[key] {
		return decode.Errorf(item, "duplicate environment variable: %s", key)
	}
	if hasValue {
		e.Set(key, value)
	} else {
		e.setUnresolved(key)
	}
	return nil
}
