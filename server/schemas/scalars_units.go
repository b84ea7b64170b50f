package schemas

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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
	if err != nil || !isFinite(f) {
		return 0, fmt.Errorf("invalid memory size %q; %s", s, memoryForms)
	}
	return Memory(f * mult), nil
}

// String renders the size as upstream prints it, e.g. "24GB", "0.5GB".
func (m Memory) String() string { return strconv.FormatFloat(float64(m), 'g', -1, 64) + "GB" }

// MarshalJSON writes the size as a float number of GB.
func (m Memory) MarshalJSON() ([]byte, error) {
	if !isFinite(float64(m)) {
		return nil, fmt.Errorf("memory size %v is not a finite number", float64(m))
	}
	return []byte(pyFloat(float64(m))), nil
}

// UnmarshalJSON accepts a number or a string with a unit suffix.
func (m *Memory) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, m) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (m *Memory) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, m) }

func (m *Memory) unmarshalNode(_ *decoder, n *vnode) error {
	v, err := parseMemoryNode(n)
	*m = v
	return err
}

func parseMemoryNode(n *vnode) (Memory, error) {
	switch n.kind {
	case vInt:
		return Memory(n.i), nil
	case vFloat:
		if isFinite(n.f) {
			return Memory(n.f), nil
		}
	case vString:
		m, err := ParseMemory(n.s)
		if err != nil {
			return 0, errorf(n, "%v", err)
		}
		return m, nil
	}
	return 0, errorf(n, "invalid memory size %s; %s", n.describe(), memoryForms)
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
func (dur *Duration) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, dur) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (dur *Duration) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, dur) }

func (dur *Duration) unmarshalNode(_ *decoder, n *vnode) error {
	v, err := parseDurationNode(n)
	*dur = v
	return err
}

func parseDurationNode(n *vnode) (Duration, error) {
	switch n.kind {
	case vInt:
		return Duration(n.i), nil
	case vFloat:
		if isFinite(n.f) && math.Abs(n.f) < 1e18 {
			return Duration(math.Trunc(n.f)), nil
		}
	case vString:
		d, err := ParseDuration(n.s)
		if err != nil {
			return 0, errorf(n, "%v", err)
		}
		return d, nil
	}
	return 0, errorf(n, "cannot parse duration %s; %s", n.describe(), durationForms)
}

// ComputeCapability is a CUDA compute capability [major, minor]. Input: 7.5, "7.5" or
// [7, 5]. Output: [7, 5].
type ComputeCapability [2]int

const ccForms = `accepted: "<major>.<minor>" such as 7.5, or [major, minor]`

// String renders "7.5".
func (c ComputeCapability) String() string { return fmt.Sprintf("%d.%d", c[0], c[1]) }

// UnmarshalJSON accepts a number, a string or a two-element list.
func (c *ComputeCapability) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, c) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (c *ComputeCapability) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, c) }

func (c *ComputeCapability) unmarshalNode(_ *decoder, n *vnode) error {
	var parts []*vnode
	switch n.kind {
	case vFloat, vString:
		for _, p := range strings.Split(strings.TrimSpace(n.text()), ".") {
			parts = append(parts, &vnode{kind: vString, s: p, line: n.line})
		}
	case vSeq:
		parts = n.items
	}
	if len(parts) != 2 {
		return errorf(n, "invalid compute capability %s; %s", n.describe(), ccForms)
	}
	for i, p := range parts {
		v, err := nodeInt(p)
		if err != nil || v < 0 || v > math.MaxInt32 {
			return errorf(n, "invalid compute capability %s; %s", n.describe(), ccForms)
		}
		c[i] = int(v)
	}
	return nil
}
