package schemas

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// structInfo describes how a struct's JSON keys map to its (possibly embedded) fields.
type structInfo struct {
	byName map[string]fieldInfo
	names  []string // JSON names in declaration order
}

type fieldInfo struct {
	index    []int
	required bool
}

var structInfoCache sync.Map // reflect.Type → *structInfo

// structInfoOf reads `json` tags (embedded structs are flattened, as encoding/json does) and
// the `dstack:"required"` marker of fields that upstream declares without a default.
func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfoCache.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{byName: map[string]fieldInfo{}}
	collectFields(t, nil, info)
	structInfoCache.Store(t, info)
	return info
}

func collectFields(t reflect.Type, prefix []int, info *structInfo) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		index := append(append([]int{}, prefix...), i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			collectFields(f.Type, index, info)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			continue
		}
		if _, dup := info.byName[name]; !dup {
			info.names = append(info.names, name)
		}
		info.byName[name] = fieldInfo{index: index, required: f.Tag.Get("dstack") == "required"}
	}
}

// unknownFieldMsg explains an unknown key: small objects list their keys, larger ones suggest
// the closest key when the typo is small.
func unknownFieldMsg(key string, names []string) string {
	msg := fmt.Sprintf("unknown field %q", key)
	if len(names) <= 8 {
		return msg + "; accepted: " + strings.Join(names, ", ")
	}
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("%s (did you mean %q?)", msg, best)
	}
	return msg
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isFinite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// marshalPlain encodes v (normally a method-less alias of a wire struct) with encoding/json.
func marshalPlain(v any) ([]byte, error) { return json.Marshal(v) }

// orEmpty returns s, or an empty non-nil slice so it encodes as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nodeString accepts strings, and numbers rendered as Python would (upstream coerces them).
func nodeString(n *vnode) (string, error) {
	switch n.kind {
	case vString, vInt, vFloat:
		return n.text(), nil
	}
	return "", errorf(n, "expected a string, got %s", n.describe())
}

// nodeBool accepts booleans, 0/1 and the usual true/false spellings (as pydantic's lax mode).
func nodeBool(n *vnode) (bool, error) {
	switch n.kind {
	case vBool:
		return n.b, nil
	case vInt:
		if n.i == 0 || n.i == 1 {
			return n.i == 1, nil
		}
	case vString:
		switch strings.ToLower(strings.TrimSpace(n.s)) {
		case "true", "yes", "on", "y", "t", "1":
			return true, nil
		case "false", "no", "off", "n", "f", "0":
			return false, nil
		}
	}
	return false, errorf(n, "expected a boolean (true or false), got %s", n.describe())
}

// nodeInt accepts integers, integral floats and numeric strings.
func nodeInt(n *vnode) (int64, error) {
	switch n.kind {
	case vInt:
		return n.i, nil
	case vFloat:
		if math.Abs(n.f) < 1<<62 && n.f == math.Trunc(n.f) {
			return int64(n.f), nil
		}
	case vString:
		if i, err := strconv.ParseInt(strings.TrimSpace(n.s), 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, errorf(n, "expected an integer, got %s", n.describe())
}

// nodeFloat accepts numbers and numeric strings.
func nodeFloat(n *vnode) (float64, error) {
	switch n.kind {
	case vInt:
		return float64(n.i), nil
	case vFloat:
		if isFinite(n.f) {
			return n.f, nil
		}
	case vString:
		if f, err := strconv.ParseFloat(strings.TrimSpace(n.s), 64); err == nil && isFinite(f) {
			return f, nil
		}
	}
	return 0, errorf(n, "expected a number, got %s", n.describe())
}
