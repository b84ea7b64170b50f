package schemas

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// Memory is a size in gigabytes. Input: a number of GB, or a string with an MB, GB or TB
// suffix (case-insensitive, spaces ignored; 1TB = 1024GB, 1MB = 1/1024GB); a bare numeric
// string is GB. Output: a JSON float ("8.0").
type Memory float64

const memoryForms = `accepted: a number of GB or a size with an MB, GB or TB suffix, e.g. 512MB, 24GB, 1TB`

// ParseMemory parses the string form of a Memory.
func ParseMemory(s string) (Memory, error) {
	v := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	mult := 1.0
	switch {
	case strings.HasSuffix(v, "tb"):
		v, mult = v[:len(v)-2], 1024
	case strings.HasSuffix(v, "gb"):
		v = v[:len(v)-2]
	case strings.HasSuffix(v, "mb"):
		v, mult = v[:len(v)-2], 1.0/1024
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !decode.IsFinite(f) {
		return 0, fmt.Errorf("invalid memory size %q; %s", s, memoryForms)
	}
	return Memory(f * mult), nil
}

// String renders the size as upstream prints it, e.g. "24GB", "0.5GB".
func (m Memory) String() string { return strconv.FormatFloat(float64(m), 'g', -1, 64) + "GB" }

// MarshalJSON writes the size as a float number of GB.
func (m Memory) MarshalJSON() ([]byte, error) {
	if !decode.IsFinite(float64(m)) {
		return nil, fmt.Errorf("memory size %v is not a finite number", float64(m))
	}
	return []byte(decode.PyFloat(float64(m))), nil
}

// UnmarshalJSON accepts a number or a string with a unit suffix.
func (m *Memory) UnmarshalJSON(b []byte) error { return decode.JSON(b, m) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (m *Memory) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, m) }

func (m *Memory) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	v, err := parseMemoryNode(n)
	*m = v
	return err
}

func parseMemoryNode(n *decode.Node) (Memory, error) {
	switch n.Kind {
	case decode.IntNode:
		return Memory(n.Int), nil
	case decode.FloatNode:
		if decode.IsFinite(n.Float) {
			return Memory(n.Float), nil
		}
	case decode.StringNode:
		m, err := ParseMemory(n.Str)
		if err != nil {
			return 0, decode.Errorf(n, "%v", err)
		}
		return m, nil
	}
	return 0, decode.Errorf(n, "invalid memory size %s; %s", n.Describe(), memoryForms)
}

// Duration is a number of seconds. Input: an integer, a numeric string, or
// "<int><unit>" with unit s, m, h, d or w. Output: an integer.
type Duration int

const durationForms = `accepted: seconds as an integer, or <number><s|m|h|d|w> such as 90s, 30m, 2h, 1d, 1w`

var durationUnits = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}

// ParseDuration parses the string form of a Duration.
func ParseDuration(s string) (Duration, error) {
	if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return Duration(i), nil
	}
	bad := fmt.Errorf("cannot parse duration %q; %s", s, durationForms)
	v := strings.TrimSuffix(s, "\n")
	if len(v) < 2 {
		return 0, bad
	}
	mult, ok := durationUnits[v[len(v)-1]]
	num := strings.TrimRight(v[:len(v)-1], " ")
	if !ok || num == "" || strings.Trim(num, "0123456789") != "" {
		return 0, bad
	}
	amount, err := strconv.ParseInt(num, 10, 64)
	if err != nil || amount > math.MaxInt64/mult {
		return 0, bad
	}
	return Duration(amount * mult), nil
}

// UnmarshalJSON accepts an integer or a string form.
func (dur *Duration) UnmarshalJSON(b []byte) error { return decode.JSON(b, dur) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (dur *Duration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, dur) }

func (dur *Duration) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	v, err := parseDurationNode(n)
	*dur = v
	return err
}

func parseDurationNode(n *decode.Node) (Duration, error) {
	switch n.Kind {
	case decode.IntNode:
		return Duration(n.Int), nil
	case decode.FloatNode:
		if decode.IsFinite(n.Float) && math.Abs(n.Float) < 1e18 {
			return Duration(math.Trunc(n.Float)), nil
		}
	case decode.StringNode:
		d, err := ParseDuration(n.Str)
		if err != nil {
			return 0, decode.Errorf(n, "%v", err)
		}
		return d, nil
	}
	return 0, decode.Errorf(n, "cannot parse duration %s; %s", n.Describe(), durationForms)
}

// ComputeCapability is a CUDA compute capability [major, minor]. Input: 7.5, "7.5" or
// [7, 5]. Output: [7, 5].
type ComputeCapability [2]int

const ccForms = `accepted: "<major>.<minor>" such as 7.5, or [major, minor]`

// String renders "7.5".
func (c ComputeCapability) String() string { return fmt.Sprintf("%d.%d", c[0], c[1]) }

// UnmarshalJSON accepts a number, a string or a two-element list.
func (c *ComputeCapability) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (c *ComputeCapability) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *ComputeCapability) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	var parts []*decode.Node
	switch n.Kind {
	case decode.FloatNode, decode.StringNode:
		for _, p := range strings.Split(strings.TrimSpace(n.Text()), ".") {
			parts = append(parts, &decode.Node{Kind: decode.StringNode, Str: p, Line: n.Line})
		}
	case decode.SeqNode:
		parts = n.Items
	}
	if len(parts) != 2 {
		return decode.Errorf(n, "invalid compute capability %s; %s", n.Describe(), ccForms)
	}
	for i, p := range parts {
		v, err := decode.AsInt(p)
		if err != nil || v < 0 || v > math.MaxInt32 {
			return decode.Errorf(n, "invalid compute capability %s; %s", n.Describe(), ccForms)
		}
		c[i] = int(v)
	}
	return nil
}
