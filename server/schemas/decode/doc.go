// Package decode turns JSON request bodies and YAML configuration files into
// the wire types of package schemas with one set of rules and messages.
//
// Both formats are first parsed into a format-neutral Node tree (ParseJSON,
// FromYAML; the YAML path keeps line numbers). A Decoder then fills Go values
// by reflection over their `json` tags: JSON is lenient about unknown keys
// (clients of other versions), YAML is strict (files written by users).
// Errors are *FieldError values with the field path and, for YAML, the line.
//
// Types take part through small interfaces: Unmarshaler for shorthand forms
// and custom rules, Defaulter for defaults, AfterDecoder for normalisation
// and Enum for string enums. A wire type usually implements UnmarshalJSON
// and UnmarshalYAML with JSON and YAML:
//
//	func (m *Memory) UnmarshalJSON(b []byte) error   { return decode.JSON(b, m) }
//	func (m *Memory) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, m) }
package decode
