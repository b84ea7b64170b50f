package schemas

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

// errorf builds a FieldError located at n.
func errorf(n *vnode, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.line
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

// withPath prefixes err's field path with seg; other errors become FieldErrors at seg.
func withPath(seg string, err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Path: joinPath(seg, fe.Path), Line: fe.Line, Msg: fe.Msg}
	}
	return &FieldError{Path: seg, Msg: err.Error()}
}

// msgOf returns an error's message without its field path.
func msgOf(err error) string {
	if fe, ok := err.(*FieldError); ok {
		return fe.Msg
	}
	return err.Error()
}

// indexSeg is the path segment of a list element.
func indexSeg(i int) string { return "[" + strconv.Itoa(i) + "]" }

// decoder turns vnodes into Go values. strict rejects unknown object keys (YAML files written
// by users); the lenient mode ignores them (JSON requests from clients of other versions).
type decoder struct{ strict bool }

// nodeUnmarshaler is implemented by types with shorthand forms or custom rules. It receives
// every input, null included, on a receiver already reset to the type's defaults.
type nodeUnmarshaler interface {
	unmarshalNode(d *decoder, n *vnode) error
}

// defaulter sets a type's defaults on its zero value.
type defaulter interface{ setDefaults() }

// afterDecoder normalises a struct once its fields are decoded.
type afterDecoder interface{ afterDecode() error }

// enumValuer lists the accepted values of a string enum type.
type enumValuer interface{ enumValues() []string }

// decodeJSONInto decodes JSON into v (a pointer) leniently, after resetting v to its defaults.
func decodeJSONInto(data []byte, v any) error {
	n, err := jsonToNode(data)
	if err != nil {
		return err
	}
	return (&decoder{}).decodeRoot(n, v)
}

// decodeYAMLInto decodes a YAML node into v (a pointer) strictly.
func decodeYAMLInto(y *yaml.Node, v any) error {
	n, err := yamlToNode(y)
	if err != nil {
		return err
	}
	return (&decoder{strict: true}).decodeRoot(n, v)
}

func (d *decoder) decodeRoot(n *vnode, v any) error {
	rv := reflect.ValueOf(v).Elem()
	resetDefaults(rv)
	return d.decode(n, rv)
}

// resetDefaults sets rv to its type's zero value plus defaults.
func resetDefaults(rv reflect.Value) {
	rv.SetZero()
	if df, ok := rv.Addr().Interface().(defaulter); ok {
		df.setDefaults()
	}
}

// decode stores n into the addressable rv. Null keeps rv's current (default) value, except for
// pointers (set to nil) and types implementing nodeUnmarshaler (which decide themselves).
func (d *decoder) decode(n *vnode, rv reflect.Value) error {
	if rv.Kind() == reflect.Pointer {
		if n.kind == vNull {
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
	if u, ok := rv.Addr().Interface().(nodeUnmarshaler); ok {
		resetDefaults(rv)
		return u.unmarshalNode(d, n)
	}
	if n.kind == vNull {
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

func decodeScalar(n *vnode, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.String:
		s, err := nodeString(n)
		if err != nil {
			return err
		}
		rv.SetString(s)
		if ev, ok := rv.Interface().(enumValuer); ok {
			return checkEnum(n, s, ev.enumValues())
		}
	case reflect.Bool:
		b, err := nodeBool(n)
		if err != nil {
			return err
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := nodeInt(n)
		if err != nil {
			return err
		}
		rv.SetInt(i)
	case reflect.Float64:
		f, err := nodeFloat(n)
		if err != nil {
			return err
		}
		rv.SetFloat(f)
	default:
		return errorf(n, "unsupported field type %s", rv.Type())
	}
	return nil
}

func (d *decoder) decodeSlice(n *vnode, rv reflect.Value) error {
	if n.kind != vSeq {
		return errorf(n, "expected a list, got %s", n.describe())
	}
	out := reflect.MakeSlice(rv.Type(), len(n.items), len(n.items))
	for i, item := range n.items {
		if err := d.decode(item, out.Index(i)); err != nil {
			return withPath(indexSeg(i), err)
		}
	}
	rv.Set(out)
	return nil
}

func (d *decoder) decodeMap(n *vnode, rv reflect.Value) error {
	if n.kind != vMap {
		return errorf(n, "expected a mapping, got %s", n.describe())
	}
	out := reflect.MakeMapWithSize(rv.Type(), len(n.keys))
	for i, k := range n.keys {
		ev := reflect.New(rv.Type().Elem()).Elem()
		if err := d.decode(n.vals[i], ev); err != nil {
			return withPath(k, err)
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), ev)
	}
	rv.Set(out)
	return nil
}

// reflectValue returns the addressable value ptr points to.
func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

// structInto decodes an object into the struct pointed to by ptr field by field, bypassing the
// type's own nodeUnmarshaler (used by those unmarshalers for the object form).
func (d *decoder) structInto(n *vnode, ptr any) error {
	return d.decodeStruct(n, reflect.ValueOf(ptr).Elem())
}

func (d *decoder) decodeStruct(n *vnode, rv reflect.Value) error {
	if n.kind == vNull {
		return nil
	}
	if n.kind != vMap {
		return errorf(n, "expected an object, got %s", n.describe())
	}
	info := structInfoOf(rv.Type())
	for i, key := range n.keys {
		f, ok := info.byName[key]
		if !ok {
			if d.strict {
				return &FieldError{Path: key, Line: keyLine(n, i), Msg: unknownFieldMsg(key, info.names)}
			}
			continue
		}
		if err := d.decode(n.vals[i], rv.FieldByIndex(f.index)); err != nil {
			return withPath(key, err)
		}
	}
	for _, name := range info.names {
		if info.byName[name].required && n.get(name) == nil {
			return &FieldError{Path: name, Line: n.line, Msg: "field required"}
		}
	}
	if ad, ok := rv.Addr().Interface().(afterDecoder); ok {
		return ad.afterDecode()
	}
	return nil
}

func keyLine(n *vnode, i int) int {
	if i < len(n.keyLines) && n.keyLines[i] > 0 {
		return n.keyLines[i]
	}
	return n.line
}

func checkEnum(n *vnode, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return errorf(n, "invalid value %q; accepted: %s", s, strings.Join(allowed, ", "))
}
