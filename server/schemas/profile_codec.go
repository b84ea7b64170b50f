package schemas

import (
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// JSON (lenient) and YAML (strict) entry points of the profile types decoded on their own.

// UnmarshalJSON decodes leniently.
func (r *ProfileRetry) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *ProfileRetry) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (u *UtilizationPolicy) UnmarshalJSON(b []byte) error { return decode.JSON(b, u) }

// UnmarshalYAML decodes strictly.
func (u *UtilizationPolicy) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, u) }

// UnmarshalJSON decodes leniently.
func (o *BackendProfileOptions) UnmarshalJSON(b []byte) error { return decode.JSON(b, o) }

// UnmarshalYAML decodes strictly.
func (o *BackendProfileOptions) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, o) }

// UnmarshalJSON decodes leniently (x86/arm, case-insensitive).
func (a *CPUArch) UnmarshalJSON(b []byte) error { return decode.JSON(b, a) }

// UnmarshalYAML decodes strictly.
func (a *CPUArch) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, a) }

// UnmarshalJSON decodes a vendor or alias (case-insensitive).
func (v *GPUVendor) UnmarshalJSON(b []byte) error { return decode.JSON(b, v) }

// UnmarshalYAML decodes strictly.
func (v *GPUVendor) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, v) }
