package decode

import (
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

// FieldNames returns the JSON keys of the struct ptr points to, in declaration order.
func FieldNames(ptr any) []string {
	return append([]string(nil), structInfoOf(reflect.TypeOf(ptr).Elem()).names...)
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

// UnknownFieldMsg explains an unknown key: small objects list their keys, larger ones suggest
// the closest key when the typo is small.
func UnknownFieldMsg(key string, names []string) string {
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

func IsFinite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// AsString accepts strings, and numbers rendered as Python would (upstream coerces them).
func AsString(n *Node) (string, error) {
	switch n.Kind {
	case StringNode, IntNode, FloatNode:
		return n.Text(), nil
	}
	return "", Errorf(n, "expected a string, got %s", n.Describe())
}

// AsBool accepts booleans, 0/1 and the usual true/false spellings (as pydantic's lax mode).
func AsBool(n *Node) (bool, error) {
	switch n.Kind {
	case BoolNode:
		return n.Bool, nil
	case IntNode:
		if n.Int == 0 || n.Int == 1 {
			return n.Int == 1, nil
		}
	case StringNode:
		switch strings.ToLower(strings.TrimSpace(n.Str)) {
		case "true", "yes", "on", "y", "t", "1":
			return true, nil
		case "false", "no", "off", "n", "f", "0":
			return false, nil
		}
	}
	return false, Errorf(n, "expected a boolean (true or false), got %s", n.Describe())
}

// AsInt accepts integers, integral floats and numeric strings.
func AsInt(n *Node) (int64, error) {
	switch n.Kind {
	case IntNode:
		return n.Int, nil
	case FloatNode:
		if math.Abs(n.Float) < 1<<62 && n.Float == math.Trunc(n.Float) {
			return int64(n.Float), nil
		}
	case StringNode:
		if i, err := strconv.ParseInt(strings.TrimSpace(n.Str), 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, Errorf(n, "expected an integer, got %s", n.Describe())
}

// AsFloat accepts numbers and numeric strings.
func AsFloat(n *Node) (float64, error) {
	switch n.Kind {
	case IntNode:
		return float64(n.Int), nil
	case FloatNode:
		if IsFinite(n.Float) {
			return n.Float, nil
		}
	case StringNode:
		if f, err := strconv.ParseFloat(strings.TrimSpace(n.Str), 64); err == nil && IsFinite(f) {
			return f, nil
		}
	}
	return 0, Errorf(n, "expected a number, got %s", n.Describe())
}
