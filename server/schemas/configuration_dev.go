package schemas

import (
	"fmt"
	"regexp"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// DevEnvironmentConfiguration is `type: dev-environment`.
type DevEnvironmentConfiguration struct {
	IDE     *string  `json:"ide"` // vscode, cursor, windsurf, zed; null = SSH only
	Version *string  `json:"version"`
	Init    []string `json:"init"`
	// InactivityDuration stops the run after this long without SSH connections. Input is an
	// offable duration; "off"/false are stored as unset (null), as upstream does.
	InactivityDuration OffableDuration `json:"inactivity_duration"`
	Ports              []PortMapping   `json:"ports"`
	BaseRunConfiguration
	ProfileParams
}

var (
	devIDEs            = []string{"vscode", "cursor", "windsurf", "zed"}
	windsurfVersionRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^.+@[a-f0-9]+$`) })
	windsurfVersionEg  = "1.106.0@8951cd3ad688e789573d7f51750d67ae4a0bea7d"
	devIDEAcceptedList = "vscode, cursor, windsurf, zed"
)

// NewDevEnvironmentConfiguration returns a dev environment configuration with every default
// set.
func NewDevEnvironmentConfiguration() DevEnvironmentConfiguration {
	var c DevEnvironmentConfiguration
	c.SetDefaults()
	return c
}

func (c *DevEnvironmentConfiguration) SetDefaults() {
	c.setBaseDefaults(ConfigurationTypeDevEnvironment)
	c.Init, c.Ports = []string{}, []PortMapping{}
}

// ConfigurationType returns "dev-environment".
func (c DevEnvironmentConfiguration) ConfigurationType() string {
	return ConfigurationTypeDevEnvironment
}

// MarshalJSON writes upstream's field order; non-nullable lists are written as [].
func (c DevEnvironmentConfiguration) MarshalJSON() ([]byte, error) {
	type plain DevEnvironmentConfiguration
	p := plain(c)
	p.Init, p.Ports = orEmpty(p.Init), orEmpty(p.Ports)
	if p.InactivityDuration.Off {
		p.InactivityDuration = OffableDuration{}
	}
	p.fillEmptyLists()
	return marshalPlain(p)
}

// UnmarshalJSON decodes leniently (unknown fields ignored).
func (c *DevEnvironmentConfiguration) UnmarshalJSON(b []byte) error {
	return decode.JSON(b, c)
}

// UnmarshalYAML decodes strictly (unknown keys are errors).
func (c *DevEnvironmentConfiguration) UnmarshalYAML(y *yaml.Node) error {
	return decode.YAML(y, c)
}

func (c *DevEnvironmentConfiguration) AfterDecode() error {
	if c.InactivityDuration.Off {
		c.InactivityDuration = OffableDuration{}
	}
	return c.checkType(ConfigurationTypeDevEnvironment)
}

// Validate checks the configuration as upstream's model and server do.
func (c DevEnvironmentConfiguration) Validate() error {
	if err := c.checkType(ConfigurationTypeDevEnvironment); err != nil {
		return err
	}
	if err := c.validateBase("run"); err != nil {
		return err
	}
	if err := c.ProfileParams.validate(); err != nil {
		return err
	}
	if c.Entrypoint != nil {
		return decode.WithPath("entrypoint", fmt.Errorf("entrypoint is not supported for dev-environment"))
	}
	if c.IDE != nil && !slices.Contains(devIDEs, *c.IDE) {
		return decode.WithPath("ide", fmt.Errorf("invalid IDE %q; accepted: %s", *c.IDE, devIDEAcceptedList))
	}
	if c.Version != nil && *c.Version != "" && c.IDE == nil {
		return decode.WithPath("version", fmt.Errorf("`version` requires `ide` to be set"))
	}
	if c.IDE != nil && *c.IDE == "windsurf" && c.Version != nil && *c.Version != "" && !windsurfVersionRe().MatchString(*c.Version) {
		return decode.WithPath("version", fmt.Errorf("invalid Windsurf version %q; expected version@commit, e.g. %s", *c.Version, windsurfVersionEg))
	}
	if c.Dstack && c.InactivityDuration.Set && !c.InactivityDuration.Off {
		return decode.WithPath("inactivity_duration", fmt.Errorf("`dstack` is not supported together with `inactivity_duration`"))
	}
	return nil
}
