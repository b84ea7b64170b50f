package schemas

import "gopkg.in/yaml.v3"

// The methods below route encoding/json and yaml.v3 through the package's decoder for the
// types that are decoded as parts of configurations, so that decoding one of them on its own
// applies the same defaults, shorthands and messages. JSON is lenient (unknown fields are
// ignored); YAML is strict (unknown keys are errors).

// UnmarshalJSON decodes leniently.
func (p *PythonVersion) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, p) }

// UnmarshalYAML decodes strictly.
func (p *PythonVersion) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, p) }

// UnmarshalJSON decodes leniently.
func (r *RegistryAuth) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RegistryAuth) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, r) }

// UnmarshalJSON decodes leniently.
func (r *RepoSpec) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RepoSpec) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, r) }

// UnmarshalJSON decodes leniently.
func (f *FilePathMapping) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, f) }

// UnmarshalYAML decodes strictly.
func (f *FilePathMapping) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, f) }

// UnmarshalJSON decodes leniently.
func (m *MountPoint) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, m) }

// UnmarshalYAML decodes strictly.
func (m *MountPoint) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, m) }

// UnmarshalJSON decodes leniently.
func (m *InstanceMountPoint) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, m) }

// UnmarshalYAML decodes strictly.
func (m *InstanceMountPoint) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, m) }

// UnmarshalJSON decodes leniently.
func (g *NodeGroup) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, g) }

// UnmarshalYAML decodes strictly.
func (g *NodeGroup) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, g) }

// UnmarshalJSON decodes leniently.
func (g *ServiceGateway) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, g) }

// UnmarshalYAML decodes strictly.
func (g *ServiceGateway) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, g) }

// UnmarshalJSON decodes leniently.
func (h *ServiceHTTPS) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, h) }

// UnmarshalYAML decodes strictly.
func (h *ServiceHTTPS) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, h) }

// UnmarshalJSON decodes leniently.
func (m *ServiceModel) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, m) }

// UnmarshalYAML decodes strictly.
func (m *ServiceModel) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, m) }

// UnmarshalJSON decodes leniently.
func (s *ScalingSpec) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, s) }

// UnmarshalYAML decodes strictly.
func (s *ScalingSpec) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, s) }

// UnmarshalJSON decodes leniently.
func (r *RouterConfig) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RouterConfig) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, r) }

// UnmarshalJSON decodes leniently.
func (g *ReplicaGroup) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, g) }

// UnmarshalYAML decodes strictly.
func (g *ReplicaGroup) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, g) }

// UnmarshalJSON decodes leniently.
func (r *ServiceReplicas) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, r) }

// UnmarshalYAML decodes strictly.
func (r *ServiceReplicas) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, r) }

// UnmarshalJSON decodes leniently.
func (r *RateLimit) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, r) }

// UnmarshalYAML decodes strictly.
func (r *RateLimit) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, r) }

// UnmarshalJSON decodes leniently.
func (k *RateLimitKey) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, k) }

// UnmarshalYAML decodes strictly.
func (k *RateLimitKey) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, k) }

// UnmarshalJSON decodes leniently.
func (p *ProbeConfig) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, p) }

// UnmarshalYAML decodes strictly.
func (p *ProbeConfig) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, p) }

// UnmarshalJSON decodes leniently.
func (h *HTTPHeaderSpec) UnmarshalJSON(b []byte) error { return decodeJSONInto(b, h) }

// UnmarshalYAML decodes strictly.
func (h *HTTPHeaderSpec) UnmarshalYAML(y *yaml.Node) error { return decodeYAMLInto(y, h) }
