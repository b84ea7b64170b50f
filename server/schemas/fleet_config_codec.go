package schemas

import (
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// JSON (lenient) and YAML (strict) entry points of the fleet types decoded on their own.

// UnmarshalJSON accepts a number >= 1 or "auto".
func (b *Blocks) UnmarshalJSON(data []byte) error { return decode.JSON(data, b) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (b *Blocks) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, b) }

// UnmarshalJSON decodes leniently.
func (p *SSHHostParams) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML decodes strictly.
func (p *SSHHostParams) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

// UnmarshalJSON decodes leniently.
func (p *SSHProxyParams) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML decodes strictly.
func (p *SSHProxyParams) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

// UnmarshalJSON decodes leniently.
func (k *SSHKey) UnmarshalJSON(b []byte) error { return decode.JSON(b, k) }

// UnmarshalYAML decodes strictly.
func (k *SSHKey) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, k) }
