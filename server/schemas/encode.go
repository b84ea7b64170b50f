package schemas

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// storedJSON is implemented by wire values that can carry the canonical JSON
// they were stored as (see StoredRunSpec, StoredJobSpec).
type storedJSON interface{ storedJSON() []byte }

func (s RunSpec) storedJSON() []byte { return s.stored }
func (s JobSpec) storedJSON() []byte { return s.stored }

// AppendJSON appends the JSON encoding of v to buf, exactly as json.Marshal
// writes it, but copies stored specs as they are. json.Marshal re-validates
// and compacts every byte a MarshalJSON method returns; for a page of runs,
// most of the answer is stored specs, already canonical.
func AppendJSON(buf []byte, v any) ([]byte, error) {
	return appendValue(buf, reflect.ValueOf(v))
}

var storedType = reflect.TypeFor[storedJSON]()

func appendValue(buf []byte, rv reflect.Value) ([]byte, error) {
	if !rv.IsValid() {
		return append(buf, "null"...), nil
	}
	t := rv.Type()
	if !carriesStored(t) {
		if b, ok := appendPlain(buf, rv); ok {
			return b, nil
		}
		return appendMarshal(buf, rv)
	}
	if t.Implements(storedType) {
		if raw := rv.Interface().(storedJSON).storedJSON(); raw != nil {
			return append(buf, raw...), nil
		}
		return appendMarshal(buf, rv)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(buf, "null"...), nil
		}
		return appendValue(buf, rv.Elem())
	case reflect.Slice:
		if rv.IsNil() {
			return append(buf, "null"...), nil
		}
		fallthrough
	case reflect.Array:
		buf = append(buf, '[')
		for i := range rv.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, rv.Index(i)); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	case reflect.Struct:
		return appendStruct(buf, rv)
	}
	return appendMarshal(buf, rv)
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// plainKind reports whether t is a bool, integer or string type that
// encoding/json writes by its kind (no MarshalJSON or MarshalText).
func plainKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.String:
	default:
		return false
	}
	for _, x := range []reflect.Type{t, reflect.PointerTo(t)} {
		if x.Implements(marshalerType) || x.Implements(textMarshalerType) {
			return false
		}
	}
	return true
}

var plainCache sync.Map // reflect.Type → bool

// appendPlain writes booleans, integers, strings of safe characters and
// nil pointers the way encoding/json does, without a json.Marshal call
// each; ok is false for anything else.
func appendPlain(buf []byte, rv reflect.Value) ([]byte, bool) {
	t := rv.Type()
	if t.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return append(buf, "null"...), true
		}
		rv, t = rv.Elem(), t.Elem()
	}
	plain, ok := plainCache.Load(t)
	if !ok {
		plain = plainKind(t)
		plainCache.Store(t, plain)
	}
	if !plain.(bool) {
		return buf, false
	}
	switch rv.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(buf, rv.Bool()), true
	case reflect.String:
		str := rv.String()
		for i := 0; i < len(str); i++ {
			// Escapes, HTML-sensitive and non-ASCII characters are left to
			// encoding/json's rules.
			if c := str[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return buf, false
			}
		}
		buf = append(buf, '"')
		buf = append(buf, str...)
		return append(buf, '"'), true
	default:
		return strconv.AppendInt(buf, rv.Int(), 10), true
	}
}

func appendMarshal(buf []byte, rv reflect.Value) ([]byte, error) {
	v := rv.Interface()
	if rv.CanAddr() {
		v = rv.Addr().Interface() // as json.Marshal does for addressable values
	}
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

func appendStruct(buf []byte, rv reflect.Value) ([]byte, error) {
	fields := encodeFieldsOf(rv.Type())
	if fields == nil {
		return appendMarshal(buf, rv)
	}
	buf = append(buf, '{')
	first := true
	for _, f := range fields {
		fv := rv.Field(f.index)
		if f.omitEmpty && isEmptyJSON(fv) {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, f.key...)
		var err error
		if buf, err = appendValue(buf, fv); err != nil {
			return buf, err
		}
	}
	return append(buf, '}'), nil
}

// encodeField is one field as encoding/json writes it.
type encodeField struct {
	index     int
	key       []byte // `"name":`
	omitEmpty bool
}

var (
	encodeFieldsCache sync.Map // reflect.Type → []encodeField (nil: let json.Marshal do it)
	carriesCache      sync.Map // reflect.Type → bool
)

// encodeFieldsOf lists t's fields in encoding/json's order, or nil when t
// uses something this encoder leaves to json.Marshal (embedded fields, the
// ",string" option, its own MarshalJSON).
func encodeFieldsOf(t reflect.Type) []encodeField {
	if v, ok := encodeFieldsCache.Load(t); ok {
		return v.([]encodeField)
	}
	var fields []encodeField
	simple := !t.Implements(reflect.TypeFor[json.Marshaler]()) && !reflect.PointerTo(t).Implements(reflect.TypeFor[json.Marshaler]())
	for i := 0; simple && i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			simple = false
			break
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") || strings.Contains(","+opts+",", ",omitzero,") {
			simple = false
			break
		}
		if name == "" {
			name = sf.Name
		}
		key, _ := json.Marshal(name)
		fields = append(fields, encodeField{index: i, key: append(key, ':'),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	if !simple {
		fields = nil
	} else if fields == nil {
		fields = []encodeField{}
	}
	encodeFieldsCache.Store(t, fields)
	return fields
}

// carriesStored reports whether values of t can hold a storedJSON value.
func carriesStored(t reflect.Type) bool {
	if v, ok := carriesCache.Load(t); ok {
		return v.(bool)
	}
	carriesCache.Store(t, false) // recursive types: assume no while looking
	c := t.Implements(storedType)
	if !c {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			c = carriesStored(t.Elem())
		case reflect.Struct:
			for i := 0; i < t.NumField() && !c; i++ {
				c = t.Field(i).IsExported() && carriesStored(t.Field(i).Type)
			}
		}
	}
	carriesCache.Store(t, c)
	return c
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
