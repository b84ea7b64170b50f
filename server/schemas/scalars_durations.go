package schemas

import (
	"encoding/json"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// OffableDuration is a duration that can be switched off (`max_duration`, `stop_duration`).
// The zero value is unset (JSON null: the server default applies).
// Input: "off" or false → off; true or null → unset; otherwise a Duration (must be ≥ 0).
// Output: "off", an integer, or null.
type OffableDuration struct {
	Set     bool     // false: unset (null)
	Off     bool     // "off": no limit
	Seconds Duration // the limit, when Set and not Off
}

const offableForms = `accepted: "off", false, true (default), or a duration such as 90s, 30m, 2h, 1d`

// DurationOff returns an OffableDuration switched off.
func DurationOff() OffableDuration { return OffableDuration{Set: true, Off: true} }

// DurationOf returns an OffableDuration of d.
func DurationOf(d Duration) OffableDuration { return OffableDuration{Set: true, Seconds: d} }

// IsNull reports whether the value is unset.
func (o OffableDuration) IsNull() bool { return !o.Set }

// MarshalJSON writes "off", an integer or null.
func (o OffableDuration) MarshalJSON() ([]byte, error) {
	switch {
	case !o.Set:
		return []byte("null"), nil
	case o.Off:
		return []byte(`"off"`), nil
	}
	return json.Marshal(int(o.Seconds))
}

// UnmarshalJSON accepts every input form listed on OffableDuration.
func (o *OffableDuration) UnmarshalJSON(b []byte) error { return decode.JSON(b, o) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (o *OffableDuration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, o) }

func (o *OffableDuration) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	*o = OffableDuration{}
	switch {
	case n.Kind == decode.NullNode || (n.Kind == decode.BoolNode && n.Bool):
		return nil
	case (n.Kind == decode.StringNode && n.Str == "off") || n.Kind == decode.BoolNode:
		*o = DurationOff()
		return nil
	}
	d, err := parseDurationNode(n)
	if err != nil {
		return decode.Errorf(n, "%s; %s", decode.MsgOf(err), offableForms)
	}
	if d < 0 {
		return decode.Errorf(n, "duration cannot be negative; %s", offableForms)
	}
	*o = DurationOf(d)
	return nil
}

// String renders "off", the number of seconds, or "" when unset.
func (o OffableDuration) String() string {
	switch {
	case !o.Set:
		return ""
	case o.Off:
		return "off"
	}
	return strconv.Itoa(int(o.Seconds))
}

// IdleDuration is an idle timeout (`idle_duration`) where -1 means off. The zero value is
// unset (JSON null). Input: "off", false or -1 → -1; true or null → unset; otherwise a
// Duration (other negative values are kept, as upstream does for old stored rows).
// Output: an integer or null.
type IdleDuration struct {
	Set     bool
	Seconds Duration // -1 = off
}

// IdleOff returns an IdleDuration switched off (-1).
func IdleOff() IdleDuration { return IdleDuration{Set: true, Seconds: -1} }

// IdleOf returns an IdleDuration of d.
func IdleOf(d Duration) IdleDuration { return IdleDuration{Set: true, Seconds: d} }

// IsOff reports whether the value is set and means "never terminate".
func (i IdleDuration) IsOff() bool { return i.Set && i.Seconds < 0 }

// MarshalJSON writes an integer or null.
func (i IdleDuration) MarshalJSON() ([]byte, error) {
	if !i.Set {
		return []byte("null"), nil
	}
	return json.Marshal(int(i.Seconds))
}

// UnmarshalJSON accepts every input form listed on IdleDuration.
func (i *IdleDuration) UnmarshalJSON(b []byte) error { return decode.JSON(b, i) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (i *IdleDuration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, i) }

func (i *IdleDuration) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	*i = IdleDuration{}
	switch {
	case n.Kind == decode.NullNode || (n.Kind == decode.BoolNode && n.Bool):
		return nil
	case (n.Kind == decode.StringNode && n.Str == "off") || n.Kind == decode.BoolNode:
		*i = IdleOff()
		return nil
	}
	d, err := parseDurationNode(n)
	if err != nil {
		return decode.Errorf(n, "%s; also accepted: \"off\", false, -1 (off) or true (default)", decode.MsgOf(err))
	}
	*i = IdleOf(d)
	return nil
}
