package schemas

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// ServiceConfiguration is `type: service`.
type ServiceConfiguration struct {
	Port        ServicePort     `json:"port" dstack:"required"`
	Gateway     *ServiceGateway `json:"gateway"`
	StripPrefix bool            `json:"strip_prefix"` // default true
	Model       *ServiceModel   `json:"model"`
	HTTPS       *ServiceHTTPS   `json:"https"` // null → true
	Auth        bool            `json:"auth"`  // default true
	Scaling     *ScalingSpec    `json:"scaling"`
	RateLimits  []RateLimit     `json:"rate_limits"`
	Probes      []ProbeConfig   `json:"probes"` // null: defaults (a model probe when model is set)
	Replicas    ServiceReplicas `json:"replicas"`
	Commands    []string        `json:"commands"`
	BaseRunConfiguration
	ProfileParams
}

// RateLimit limits requests per second for a path prefix, per client IP or per header value.
type RateLimit struct {
	Prefix string       `json:"prefix"` // default "/"
	Key    RateLimitKey `json:"key"`
	RPS    float64      `json:"rps" dstack:"required"`
	Burst  int          `json:"burst"`
}

// RateLimitKey partitions requests: {type: ip_address} (default) or {type: header, header}.
type RateLimitKey struct {
	Type   string  `json:"type"`
	Header *string `json:"header,omitempty"`
}

// ProbeConfig is an HTTP health probe of a service replica. Nulls take the server defaults
// (url "/", method get, timeout 10s, interval 15s, ready_after 1, until_ready false).
type ProbeConfig struct {
	Type       string           `json:"type" dstack:"required"` // http
	URL        *string          `json:"url"`
	Method     *string          `json:"method"`
	Headers    []HTTPHeaderSpec `json:"headers"`
	Body       *string          `json:"body"`
	Timeout    *Duration        `json:"timeout"`
	Interval   *Duration        `json:"interval"`
	ReadyAfter *int             `json:"ready_after"`
	UntilReady *bool            `json:"until_ready"`
}

// HTTPHeaderSpec is one HTTP header of a probe request.
type HTTPHeaderSpec struct {
	Name  string `json:"name" dstack:"required"`
	Value string `json:"value" dstack:"required"`
}

func (r *RateLimit) SetDefaults()    { r.Prefix = "/"; r.Key.Type = "ip_address" }
func (k *RateLimitKey) SetDefaults() { k.Type = "ip_address" }
func (p *ProbeConfig) SetDefaults()  { p.Headers = []HTTPHeaderSpec{} }

// NewServiceConfiguration returns a service configuration with every default set.
func NewServiceConfiguration() ServiceConfiguration {
	var c ServiceConfiguration
	c.SetDefaults()
	return c
}

func (c *ServiceConfiguration) SetDefaults() {
	c.setBaseDefaults(ConfigurationTypeService)
	c.StripPrefix, c.Auth = true, true
	c.RateLimits, c.Commands = []RateLimit{}, []string{}
}

// ConfigurationType returns "service".
func (c ServiceConfiguration) ConfigurationType() string { return ConfigurationTypeService }

// MarshalJSON writes upstream's field order; replica groups go under "replicas".
func (c ServiceConfiguration) MarshalJSON() ([]byte, error) {
	type plain ServiceConfiguration
	p := plain(c)
	p.RateLimits, p.Commands = orEmpty(p.RateLimits), orEmpty(p.Commands)
	p.fillEmptyLists()
	return marshalPlain(p)
}

// UnmarshalJSON decodes leniently (unknown fields ignored).
func (c *ServiceConfiguration) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML decodes strictly (unknown keys are errors).
func (c *ServiceConfiguration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *ServiceConfiguration) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if groups := n.Get("groups"); groups != nil {
		if groups.Kind != decode.NullNode {
			if r := n.Get("replicas"); r != nil && r.Kind != decode.NullNode {
				return &decode.FieldError{Path: "groups", Line: groups.Line, Msg: "`replicas` and `groups` are mutually exclusive"}
			}
			n = renameKey(dropKey(n, "replicas"), "groups", "replicas")
		} else {
			n = dropKey(n, "groups")
		}
	}
	if err := d.Struct(n, c); err != nil {
		return err
	}
	for i := range c.Replicas.Groups {
		if c.Replicas.Groups[i].Name == nil {
			name := fmt.Sprint(i)
			c.Replicas.Groups[i].Name = &name
		}
	}
	return c.checkType(ConfigurationTypeService)
}

// Validate checks the configuration as upstream's model and server do.
func (c ServiceConfiguration) Validate() error {
	if err := c.checkType(ConfigurationTypeService); err != nil {
		return err
	}
	if err := c.validateBase("run"); err != nil {
		return err
	}
	if err := c.ProfileParams.validate(); err != nil {
		return err
	}
	if err := PortMapping(c.Port).check(); err != nil {
		return decode.WithPath("port", err)
	}
	if err := c.validateTraffic(); err != nil {
		return err
	}
	if c.Scaling != nil {
		if err := c.Scaling.validate(); err != nil {
			return decode.WithPath("scaling", err)
		}
	}
	if c.Replicas.Groups != nil {
		return c.validateGroups()
	}
	if r := c.Replicas.Range; r != nil {
		if err := validateReplicaRange(*r); err != nil {
			return decode.WithPath("replicas", err)
		}
		if err := checkScalingMatchesRange(*r, c.Scaling != nil, "replicas"); err != nil {
			return err
		}
	}
	if len(c.Commands) == 0 && c.Image == nil {
		return decode.WithPath("commands", fmt.Errorf("either `commands` or `image` must be set"))
	}
	return nil
}

// checkScalingMatchesRange requires `scaling` exactly when the replica count is a range
// (replicasKey is where the count lives: "replicas", or "count" in a replica group).
func checkScalingMatchesRange(r IntRange, hasScaling bool, replicasKey string) error {
	isRange := !(r.Min != nil && r.Max != nil && *r.Min == *r.Max)
	switch {
	case isRange && !hasScaling:
		return decode.WithPath(replicasKey, fmt.Errorf("a range of replicas (%s) requires `scaling`", r))
	case !isRange && hasScaling:
		return decode.WithPath("scaling", fmt.Errorf("to use `scaling`, `replicas` must be a range"))
	}
	return nil
}
