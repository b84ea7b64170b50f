package schemas

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// AnyConfiguration is a parsed configuration of a supported type: *TaskConfiguration,
// *ServiceConfiguration, *DevEnvironmentConfiguration or *FleetConfiguration.
type AnyConfiguration interface {
	// ConfigurationType returns the `type` discriminator.
	ConfigurationType() string
	// Validate checks the configuration's constraints.
	Validate() error
}

// RunConfiguration is a run's `configuration`: a union discriminated by `type`
// (dev-environment, task, service). Exactly one pointer is set.
type RunConfiguration struct {
	DevEnvironment *DevEnvironmentConfiguration
	Task           *TaskConfiguration
	Service        *ServiceConfiguration
}

const runTypes = "dev-environment, task, service"

// RunConfigurationOf wraps a concrete run configuration; ok is false for other types.
func RunConfigurationOf(c AnyConfiguration) (rc RunConfiguration, ok bool) {
	switch v := c.(type) {
	case *DevEnvironmentConfiguration:
		return RunConfiguration{DevEnvironment: v}, true
	case *TaskConfiguration:
		return RunConfiguration{Task: v}, true
	case *ServiceConfiguration:
		return RunConfiguration{Service: v}, true
	}
	return RunConfiguration{}, false
}

// Get returns the concrete configuration, or nil when none is set.
func (c RunConfiguration) Get() AnyConfiguration {
	switch {
	case c.DevEnvironment != nil:
		return c.DevEnvironment
	case c.Task != nil:
		return c.Task
	case c.Service != nil:
		return c.Service
	}
	return nil
}

// Type returns the `type` discriminator, or "" when no configuration is set.
func (c RunConfiguration) Type() string {
	if v := c.Get(); v != nil {
		return v.ConfigurationType()
	}
	return ""
}

// Base returns the fields common to all run configurations (nil when none is set).
func (c RunConfiguration) Base() *BaseRunConfiguration {
	switch {
	case c.DevEnvironment != nil:
		return &c.DevEnvironment.BaseRunConfiguration
	case c.Task != nil:
		return &c.Task.BaseRunConfiguration
	case c.Service != nil:
		return &c.Service.BaseRunConfiguration
	}
	return nil
}

// Params returns the configuration's top-level profile parameters (nil when none is set).
func (c RunConfiguration) Params() *ProfileParams {
	switch {
	case c.DevEnvironment != nil:
		return &c.DevEnvironment.ProfileParams
	case c.Task != nil:
		return &c.Task.ProfileParams
	case c.Service != nil:
		return &c.Service.ProfileParams
	}
	return nil
}

// Validate checks the concrete configuration.
func (c RunConfiguration) Validate() error {
	v := c.Get()
	if v == nil {
		return fmt.Errorf("no run configuration; accepted types: %s", runTypes)
	}
	return v.Validate()
}

// MarshalJSON writes the concrete configuration (null when none is set).
func (c RunConfiguration) MarshalJSON() ([]byte, error) {
	if v := c.Get(); v != nil {
		return json.Marshal(v)
	}
	return []byte("null"), nil
}

// UnmarshalJSON decodes by `type`, leniently (unknown fields ignored).
func (c *RunConfiguration) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML decodes by `type`, strictly (unknown keys are errors).
func (c *RunConfiguration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *RunConfiguration) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	typ, err := discriminator(n, runTypes)
	if err != nil {
		return err
	}
	var target any
	switch typ {
	case ConfigurationTypeDevEnvironment:
		c.DevEnvironment = &DevEnvironmentConfiguration{}
		target = c.DevEnvironment
	case ConfigurationTypeTask:
		c.Task = &TaskConfiguration{}
		target = c.Task
	case ConfigurationTypeService:
		c.Service = &ServiceConfiguration{}
		target = c.Service
	default:
		return &decode.FieldError{Path: "type", Line: n.Get("type").Line, Msg: fmt.Sprintf("invalid run configuration type %q; accepted: %s", typ, runTypes)}
	}
	return d.Root(n, target)
}

// discriminator reads the string `type` key of an object.
func discriminator(n *decode.Node, accepted string) (string, error) {
	if n.Kind != decode.MapNode {
		return "", decode.Errorf(n, "expected a configuration object with a `type` (%s), got %s", accepted, n.Describe())
	}
	t := n.Get("type")
	if t == nil {
		return "", &decode.FieldError{Path: "type", Line: n.Line, Msg: "field required; accepted: " + accepted}
	}
	if t.Kind != decode.StringNode {
		return "", &decode.FieldError{Path: "type", Line: t.Line, Msg: fmt.Sprintf("expected a string, got %s; accepted: %s", t.Describe(), accepted)}
	}
	return t.Str, nil
}

// PatchForClient applies the response patches upstream makes for older clients (reference
// §1.6). before(v) reports whether the client is older than version v; pass nil when the
// client version is unknown (no header, "latest" or 0.0.0), and nothing is patched.
func (c *RunConfiguration) PatchForClient(before func(version string) bool) {
	if before == nil {
		return
	}
	if t := c.Task; t != nil && t.Groups == nil && t.Nodes == nil {
		one := 1
		t.Nodes = &one
	}
	if s := c.Service; s != nil {
		if before("0.20.8") && s.Probes == nil {
			s.Probes = []ProbeConfig{}
		}
		if before("0.20.12") && s.HTTPS == nil {
			s.HTTPS = &ServiceHTTPS{Enabled: true}
		}
		if before("0.20.20") && s.Gateway != nil && s.Gateway.Ref != nil {
			s.Gateway.Ref.LegacyString = true
		}
	}
	if p := c.Params(); p != nil {
		p.PatchForClient(before)
	}
}

// PatchForClient writes `fleets` references as strings for clients older than 0.20.14.
func (p *ProfileParams) PatchForClient(before func(version string) bool) {
	if before == nil || !before("0.20.14") {
		return
	}
	for i := range p.Fleets {
		p.Fleets[i].LegacyString = true
	}
}
