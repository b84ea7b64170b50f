package schemas

import (
	"encoding/json"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// The methods below route encoding/json and yaml.v3 through the decode package for the
// types that are decoded as parts of configurations, so that decoding one of them on its own
// applies the same defaults, shorthands and messages. JSON is lenient (unknown fields are
// ignored); YAML is strict (unknown keys are errors).

// UnmarshalJSON decodes leniently.
func (p *PythonVersion) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML decodes strictly.
func (p *PythonVersion) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

// UnmarshalJSON decodes leniently.
func (r *RegistryAuth) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RegistryAuth) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (r *RepoSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RepoSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (f *FilePathMapping) UnmarshalJSON(b []byte) error { return decode.JSON(b, f) }

// UnmarshalYAML decodes strictly.
func (f *FilePathMapping) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, f) }

// UnmarshalJSON decodes leniently.
func (m *MountPoint) UnmarshalJSON(b []byte) error { return decode.JSON(b, m) }

// UnmarshalYAML decodes strictly.
func (m *MountPoint) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, m) }

// UnmarshalJSON decodes leniently.
func (m *InstanceMountPoint) UnmarshalJSON(b []byte) error { return decode.JSON(b, m) }

// UnmarshalYAML decodes strictly.
func (m *InstanceMountPoint) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, m) }

// UnmarshalJSON decodes leniently.
func (g *NodeGroup) UnmarshalJSON(b []byte) error { return decode.JSON(b, g) }

// UnmarshalYAML decodes strictly.
func (g *NodeGroup) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, g) }

// UnmarshalJSON decodes leniently.
func (g *ServiceGateway) UnmarshalJSON(b []byte) error { return decode.JSON(b, g) }

// UnmarshalYAML decodes strictly.
func (g *ServiceGateway) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, g) }

// UnmarshalJSON decodes leniently.
func (h *ServiceHTTPS) UnmarshalJSON(b []byte) error { return decode.JSON(b, h) }

// UnmarshalYAML decodes strictly.
func (h *ServiceHTTPS) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, h) }

// UnmarshalJSON decodes leniently.
func (m *ServiceModel) UnmarshalJSON(b []byte) error { return decode.JSON(b, m) }

// UnmarshalYAML decodes strictly.
func (m *ServiceModel) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, m) }

// UnmarshalJSON decodes leniently.
func (s *ScalingSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML decodes strictly.
func (s *ScalingSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

// UnmarshalJSON decodes leniently.
func (r *RouterConfig) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RouterConfig) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (g *ReplicaGroup) UnmarshalJSON(b []byte) error { return decode.JSON(b, g) }

// UnmarshalYAML decodes strictly.
func (g *ReplicaGroup) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, g) }

// UnmarshalJSON decodes leniently.
func (r *ServiceReplicas) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *ServiceReplicas) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (r *RateLimit) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RateLimit) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

// UnmarshalJSON decodes leniently.
func (k *RateLimitKey) UnmarshalJSON(b []byte) error { return decode.JSON(b, k) }

// UnmarshalYAML decodes strictly.
func (k *RateLimitKey) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, k) }

// UnmarshalJSON decodes leniently.
func (p *ProbeConfig) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML decodes strictly.
func (p *ProbeConfig) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

// UnmarshalJSON decodes leniently.
func (h *HTTPHeaderSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, h) }

// UnmarshalYAML decodes strictly.
func (h *HTTPHeaderSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, h) }

// marshalPlain encodes v (normally a method-less alias of a wire struct) with encoding/json.
func marshalPlain(v any) ([]byte, error) { return json.Marshal(v) }

// orEmpty returns s, or an empty non-nil slice so it encodes as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
