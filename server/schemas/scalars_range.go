package schemas

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// RangeBound is what a Range can hold: a count (int) or a size (Memory).
type RangeBound interface{ int | Memory }

// Range is upstream's Range[T]: an inclusive interval where either end may be open (nil).
// Input forms: {min, max} (either may be null or missing), a scalar N (min = max = N), or a
// string "A..B", "A.." or "..B" (spaces ignored). A range with neither end, or with
// min > max, is rejected. Output is always {"min": x|null, "max": y|null}.
type Range[T RangeBound] struct {
	Min *T
	Max *T
}

// IntRange is a range of counts (CPU cores, GPUs, replicas).
type IntRange = Range[int]

// MemoryRange is a range of sizes in GB.
type MemoryRange = Range[Memory]

const rangeForms = `accepted: N, "A..B", "A..", "..B" or {min: A, max: B}`

// RangeBetween returns the closed range min..max.
func RangeBetween[T RangeBound](min, max T) Range[T] { return Range[T]{Min: &min, Max: &max} }

// RangeExactly returns the range v..v.
func RangeExactly[T RangeBound](v T) Range[T] { return RangeBetween(v, v) }

// RangeAtLeast returns the open-ended range v.. .
func RangeAtLeast[T RangeBound](v T) Range[T] { return Range[T]{Min: &v} }

// Contains reports whether v lies within the range.
func (r Range[T]) Contains(v T) bool {
	return (r.Min == nil || v >= *r.Min) && (r.Max == nil || v <= *r.Max)
}

// String renders the range in upstream's shorthand: "2", "2..8", "24GB..", "..4".
func (r Range[T]) String() string {
	lo, hi := "", ""
	if r.Min != nil {
		lo = fmt.Sprint(*r.Min)
	}
	if r.Max != nil {
		hi = fmt.Sprint(*r.Max)
	}
	if r.Min != nil && r.Max != nil && *r.Min == *r.Max {
		return lo
	}
	return lo + ".." + hi
}

// Validate checks that the range has at least one end and min <= max.
func (r Range[T]) Validate() error {
	if r.Min == nil && r.Max == nil {
		return fmt.Errorf("invalid empty range: ..; %s", rangeForms)
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return fmt.Errorf("invalid range order %s: min must not be greater than max", r.orderText())
	}
	return nil
}

func (r Range[T]) orderText() string { return fmt.Sprint(*r.Min) + ".." + fmt.Sprint(*r.Max) }

// MarshalJSON writes {"min": x|null, "max": y|null}.
func (r Range[T]) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min *T `json:"min"`
		Max *T `json:"max"`
	}{r.Min, r.Max})
}

// UnmarshalJSON accepts every input form listed on Range.
func (r *Range[T]) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (r *Range[T]) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

func (r *Range[T]) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	*r = Range[T]{}
	switch n.Kind {
	case decode.MapNode:
		for i, key := range n.Keys {
			var dst **T
			switch key {
			case "min":
				dst = &r.Min
			case "max":
				dst = &r.Max
			default:
				if d.Strict {
					return &decode.FieldError{Path: key, Line: decode.KeyLine(n, i), Msg: decode.UnknownFieldMsg(key, []string{"min", "max"})}
				}
				continue
			}
			*dst = nil
			if v := n.Vals[i]; v.Kind != decode.NullNode {
				b, err := parseBound[T](v)
				if err != nil {
					return decode.WithPath(key, err)
				}
				*dst = &b
			}
		}
	case decode.StringNode:
		if err := r.parseString(n); err != nil {
			return err
		}
	case decode.IntNode, decode.FloatNode:
		b, err := parseBound[T](n)
		if err != nil {
			return err
		}
		r.Min, r.Max = &b, &b
	default:
		return decode.Errorf(n, "invalid range %s; %s", n.Describe(), rangeForms)
	}
	if err := r.Validate(); err != nil {
		return decode.Errorf(n, "%v", err)
	}
	return nil
}

func (r *Range[T]) parseString(n *decode.Node) error {
	if !strings.Contains(n.Str, "..") {
		b, err := parseBound[T](n)
		if err != nil {
			return err
		}
		r.Min, r.Max = &b, &b
		return nil
	}
	parts := strings.Split(strings.ReplaceAll(n.Str, " ", ""), "..")
	if len(parts) != 2 {
		return decode.Errorf(n, "invalid range %q: more than one \"..\"; %s", n.Str, rangeForms)
	}
	for i, p := range parts {
		if p == "" {
			continue
		}
		b, err := parseBound[T](&decode.Node{Kind: decode.StringNode, Str: p, Line: n.Line})
		if err != nil {
			return decode.Errorf(n, "invalid range %q: %s", n.Str, decode.MsgOf(err))
		}
		if i == 0 {
			r.Min = &b
		} else {
			r.Max = &b
		}
	}
	return nil
}

// parseBound parses one end of a range.
func parseBound[T RangeBound](n *decode.Node) (T, error) {
	var out T
	switch p := any(&out).(type) {
	case *int:
		i, err := decode.AsInt(n)
		if err != nil {
			return out, err
		}
		*p = int(i)
	case *Memory:
		m, err := parseMemoryNode(n)
		if err != nil {
			return out, err
		}
		*p = m
	}
	return out, nil
}
