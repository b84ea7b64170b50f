package decode

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError reports an invalid input value. Path is the field path ("resources.gpu",
// "groups[1].name"); Line is the 1-based line of the value in a YAML file, or 0 when unknown
// (JSON input, or errors found by Validate on an already decoded value).
type FieldError struct {
	Path string
	Line int
	Msg  string
}

// Error renders "path: message".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf builds a FieldError located at n.
func Errorf(n *Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FieldError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// joinPath joins a parent path segment and a child path ("groups" + "[1].name").
func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case strings.HasPrefix(child, "["):
		return parent + child
	}
	return parent + "." + child
}

// WithPath prefixes err's field path with seg; other errors become FieldErrors at seg.
func WithPath(seg string, err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Path: joinPath(seg, fe.Path), Line: fe.Line, Msg: fe.Msg}
	}
	return &FieldError{Path: seg, Msg: err.Error()}
}

// MsgOf returns an error's message without its field path.
func MsgOf(err error) string {
	if fe, ok := err.(*FieldError); ok {
		return fe.Msg
	}
	return err.Error()
}

// IndexSeg is the path segment of a list element.
func IndexSeg(i int) string { return "[" + strconv.Itoa(i) + "]" }

// Decoder turns Nodes into Go values. Strict rejects unknown object keys (YAML files written
// by users); the lenient mode ignores them (JSON requests from clients of other versions).
type Decoder struct{ Strict bool }

// Unmarshaler is implemented by types with shorthand forms or custom rules. It receives
// every input, null included, on a receiver already reset to the type's defaults.
type Unmarshaler interface {
	UnmarshalNode(d *Decoder, n *Node) error
}

// Defaulter sets a type's defaults on its zero value.
type Defaulter interface{ SetDefaults() }

// AfterDecoder normalises a struct once its fields are decoded.
type AfterDecoder interface{ AfterDecode() error }

// Enum lists the accepted values of a string enum type.
type Enum interface{ EnumValues() []string }

// JSON decodes JSON into v (a pointer) leniently, after resetting v to its defaults.
func JSON(data []byte, v any) error {
	n, err := ParseJSON(data)
	if err != nil {
		return err
	}
	return (&Decoder{}).Root(n, v)
}

// YAML decodes a YAML node into v (a pointer) strictly.
func YAML(y *yaml.Node, v any) error {
	n, err := FromYAML(y)
	if err != nil {
		return err
	}
	return (&Decoder{Strict: true}).Root(n, v)
}

func (d *Decoder) Root(n *Node, v any) error {
	rv := reflect.ValueOf(v).Elem()
	resetDefaults(rv)
	return d.decode(n, rv)
}

// resetDefaults sets rv to its type's zero value plus defaults.
func resetDefaults(rv reflect.Value) {
	rv.SetZero()
	if df, ok := rv.Addr().Interface().(Defaulter); ok {
		df.SetDefaults()
	}
}

// decode stores n into the addressable rv. Null keeps rv's current (default) value, except for
// pointers (set to nil) and types implementing Unmarshaler (which decide themselves).
func (d *Decoder) decode(n *Node, rv reflect.Value) error {
	if rv.Kind() == reflect.Pointer {
		if n.Kind == NullNode {
			rv.SetZero()
			return nil
		}
		nv := reflect.New(rv.Type().Elem())
		resetDefaults(nv.Elem())
		if err := d.decode(n, nv.Elem()); err != nil {
			return err
		}
		rv.Set(nv)
		return nil
	}
	if u, ok := rv.Addr().Interface().(Unmarshaler); ok {
		resetDefaults(rv)
		return u.UnmarshalNode(d, n)
	}
	if n.Kind == NullNode {
		return nil
	}
	switch rv.Kind() {
	case reflect.Struct:
		resetDefaults(rv)
		return d.decodeStruct(n, rv)
	case reflect.Slice:
		return d.decodeSlice(n, rv)
	case reflect.Map:
		return d.decodeMap(n, rv)
	}
	return decodeScalar(n, rv)
}

func decodeScalar(n *Node, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.String:
		s, err := AsString(n)
		if err != nil {
			return err
		}
		rv.SetString(s)
		if ev, ok := rv.Interface().(Enum); ok {
			return checkEnum(n, s, ev.EnumValues())
		}
	case reflect.Bool:
		b, err := AsBool(n)
		if err != nil {
			return err
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := AsInt(n)
		if err != nil {
			return err
		}
		rv.SetInt(i)
	case reflect.Float64:
		f, err := AsFloat(n)
		if err != nil {
			return err
		}
		rv.SetFloat(f)
	default:
		return Errorf(n, "unsupported field type %s", rv.Type())
	}
	return nil
}

func (d *Decoder) decodeSlice(n *Node, rv reflect.Value) error {
	if n.Kind != SeqNode {
		return Errorf(n, "expected a list, got %s", n.Describe())
	}
	out := reflect.MakeSlice(rv.Type(), len(n.Items), len(n.Items))
	for i, item := range n.Items {
		if err := d.decode(item, out.Index(i)); err != nil {
			return WithPath(IndexSeg(i), err)
		}
	}
	rv.Set(out)
	return nil
}

func (d *Decoder) decodeMap(n *Node, rv reflect.Value) error {
	if n.Kind != MapNode {
		return Errorf(n, "expected a mapping, got %s", n.Describe())
	}
	out := reflect.MakeMapWithSize(rv.Type(), len(n.Keys))
	for i, k := range n.Keys {
		ev := reflect.New(rv.Type().Elem()).Elem()
		if err := d.decode(n.Vals[i], ev); err != nil {
			return WithPath(k, err)
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), ev)
	}
	rv.Set(out)
	return nil
}

// Into decodes n into the value ptr points to, as a field of that type would be decoded.
func (d *Decoder) Into(n *Node, ptr any) error { return d.decode(n, reflect.ValueOf(ptr).Elem()) }

// Struct decodes an object into the struct pointed to by ptr field by field, bypassing the
// type's own Unmarshaler (used by those unmarshalers for the object form).
func (d *Decoder) Struct(n *Node, ptr any) error {
	return d.decodeStruct(n, reflect.ValueOf(ptr).Elem())
}

func (d *Decoder) decodeStruct(n *Node, rv reflect.Value) error {
	if n.Kind == NullNode {
		return nil
	}
	if n.Kind != MapNode {
		return Errorf(n, "expected an object, got %s", n.Describe())
	}
	info := structInfoOf(rv.Type())
	for i, key := range n.Keys {
		f, ok := info.byName[key]
		if !ok {
			if d.Strict {
				return &FieldError{Path: key, Line: KeyLine(n, i), Msg: UnknownFieldMsg(key, info.names)}
			}
			continue
		}
		if err := d.decode(n.Vals[i], rv.FieldByIndex(f.index)); err != nil {
			return WithPath(key, err)
		}
	}
	for _, name := range info.names {
		if info.byName[name].required && n.Get(name) == nil {
			return &FieldError{Path: name, Line: n.Line, Msg: "field required"}
		}
	}
	if ad, ok := rv.Addr().Interface().(AfterDecoder); ok {
		return ad.AfterDecode()
	}
	return nil
}

func KeyLine(n *Node, i int) int {
	if i < len(n.KeyLines) && n.KeyLines[i] > 0 {
		return n.KeyLines[i]
	}
	return n.Line
}

func checkEnum(n *Node, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return Errorf(n, "invalid value %q; accepted: %s", s, strings.Join(allowed, ", "))
}
