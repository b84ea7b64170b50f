package schemas

import (
	"encoding/json"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// FleetConfiguration is `type: fleet`: one flat model for both kinds of fleet. A cloud fleet
// sets `nodes` (and optionally the provisioning fields); an SSH fleet sets `ssh_config` (and
// optionally `env`). Fields of the other kind must stay at their defaults (see Validate).
type FleetConfiguration struct {
	Type              string                  `json:"type"`
	Name              *string                 `json:"name"`
	Placement         *FleetPlacement         `json:"placement"`
	Blocks            Blocks                  `json:"blocks"`
	Nodes             *FleetNodesSpec         `json:"nodes"`
	Reservation       *string                 `json:"reservation"`
	Resources         *ResourcesSpec          `json:"resources"`
	Backends          []string                `json:"backends"`
	Regions           []string                `json:"regions"`
	AvailabilityZones []string                `json:"availability_zones"`
	InstanceTypes     []string                `json:"instance_types"`
	SpotPolicy        *SpotPolicy             `json:"spot_policy"`
	Retry             *RetryConfig            `json:"retry"`
	MaxPrice          *float64                `json:"max_price"`
	IdleDuration      IdleDuration            `json:"idle_duration"`
	Tags              map[string]string       `json:"tags"`
	BackendOptions    []BackendProfileOptions `json:"backend_options"`
	SSHConfig         *SSHParams              `json:"ssh_config"`
	Env               Env                     `json:"env"` // SSH fleets: env of dstack-shim on hosts
}

// FleetPlacement is a fleet's instance placement: any, or cluster (interconnected).
type FleetPlacement string

// Fleet placements.
const (
	FleetPlacementAny     FleetPlacement = "any"
	FleetPlacementCluster FleetPlacement = "cluster"
)

func (FleetPlacement) EnumValues() []string { return []string{"any", "cluster"} }

// NewFleetConfiguration returns a fleet configuration with every default set.
func NewFleetConfiguration() FleetConfiguration {
	var c FleetConfiguration
	c.SetDefaults()
	return c
}

func (c *FleetConfiguration) SetDefaults() {
	c.Type = ConfigurationTypeFleet
	c.Blocks = Blocks{N: 1}
}

// ConfigurationType returns "fleet".
func (c FleetConfiguration) ConfigurationType() string { return ConfigurationTypeFleet }

// UnmarshalJSON decodes leniently (unknown fields ignored).
func (c *FleetConfiguration) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML decodes strictly (unknown keys are errors).
func (c *FleetConfiguration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *FleetConfiguration) AfterDecode() error {
	if c.Type != ConfigurationTypeFleet {
		return decode.WithPath("type", decode.Errorf(nil, "expected %q, got %q", ConfigurationTypeFleet, c.Type))
	}
	return nil
}

// IsSSH reports whether this is an SSH fleet.
func (c FleetConfiguration) IsSSH() bool { return c.SSHConfig != nil }

// ProfileParams returns the profile parameters a fleet configuration can set (for
// MergeFleetProfile).
func (c FleetConfiguration) ProfileParams() ProfileParams {
	return ProfileParams{
		Backends: c.Backends, Regions: c.Regions, AvailabilityZones: c.AvailabilityZones,
		InstanceTypes: c.InstanceTypes, Reservation: c.Reservation, SpotPolicy: c.SpotPolicy,
		Retry: c.Retry, MaxPrice: c.MaxPrice, IdleDuration: c.IdleDuration, Tags: c.Tags,
		BackendOptions: c.BackendOptions,
	}
}

// WithoutSSHKeys returns a copy with every ssh_key (fleet, hosts, proxy jumps) removed: the
// server never returns the keys the CLI uploaded.
func (c FleetConfiguration) WithoutSSHKeys() FleetConfiguration {
	if c.SSHConfig == nil {
		return c
	}
	s := c.SSHConfig.clone()
	s.SSHKey = nil
	if s.ProxyJump != nil {
		s.ProxyJump.SSHKey = nil
	}
	for i := range s.Hosts {
		if p := s.Hosts[i].Params; p != nil {
			p.SSHKey = nil
			if p.ProxyJump != nil {
				p.ProxyJump.SSHKey = nil
			}
		}
	}
	c.SSHConfig = &s
	return c
}

// Blocks splits an instance into equal shares: a number ≥ 1 or "auto" (as many as possible).
type Blocks struct {
	Auto bool
	N    int // when not Auto
}

func (b *Blocks) SetDefaults() { b.N = 1 }

// MarshalJSON writes "auto" or the number.
func (b Blocks) MarshalJSON() ([]byte, error) {
	if b.Auto {
		return []byte(`"auto"`), nil
	}
	return []byte(strconv.Itoa(b.N)), nil
}

func (b *Blocks) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.StringNode && n.Str == "auto" {
		*b = Blocks{Auto: true}
		return nil
	}
	if n.Kind == decode.NullNode {
		return nil
	}
	v, err := decode.AsInt(n)
	if err != nil || v < 1 {
		return decode.Errorf(n, "invalid blocks %s; accepted: an integer >= 1 or \"auto\"", n.Describe())
	}
	*b = Blocks{N: int(v)}
	return nil
}

// FleetNodesSpec is a cloud fleet's instance count: min (kept), target (provisioned on apply;
// defaults to min) and max (null: unlimited). Input: N (min = target = max = N), "A..B",
// "A..", or {min, target, max}. Output omits target when it equals min (old clients reject
// the field).
type FleetNodesSpec struct {
	Min    int
	Target int
	Max    *int
}

type fleetNodesWire struct {
	Min    *int `json:"min"`
	Target *int `json:"target,omitempty"`
	Max    *int `json:"max"`
}

const nodesForms = `accepted: N, "A..B", "A..", or {min, target, max}`

// MarshalJSON writes {min, [target,] max}.
func (s FleetNodesSpec) MarshalJSON() ([]byte, error) {
	w := fleetNodesWire{Min: &s.Min, Max: s.Max}
	if s.Target != s.Min {
		w.Target = &s.Target
	}
	return json.Marshal(w)
}

// UnmarshalJSON accepts every input form listed on FleetNodesSpec.
func (s *FleetNodesSpec) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (s *FleetNodesSpec) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

func (s *FleetNodesSpec) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	var w fleetNodesWire
	switch {
	case n.Kind == decode.MapNode:
		if err := d.Struct(n, &w); err != nil {
			return err
		}
	case n.Kind == decode.StringNode && strings.Contains(n.Str, ".."):
		parts := strings.Split(strings.ReplaceAll(n.Str, " ", ""), "..")
		if len(parts) != 2 {
			return decode.Errorf(n, "invalid nodes %q; %s", n.Str, nodesForms)
		}
		for i, p := range parts {
			if p == "" {
				continue
			}
			v, err := decode.AsInt(&decode.Node{Kind: decode.StringNode, Str: p})
			if err != nil {
				return decode.Errorf(n, "invalid nodes %q; %s", n.Str, nodesForms)
			}
			iv := int(v)
			if i == 0 {
				w.Min = &iv
			} else {
				w.Max = &iv
			}
		}
	case n.Kind == decode.IntNode || n.Kind == decode.StringNode:
		v, err := decode.AsInt(n)
		if err != nil {
			return decode.Errorf(n, "invalid nodes %s; %s", n.Describe(), nodesForms)
		}
		iv := int(v)
		w.Min, w.Max = &iv, &iv
	default:
		return decode.Errorf(n, "invalid nodes %s; %s", n.Describe(), nodesForms)
	}
	*s = FleetNodesSpec{Max: w.Max}
	if w.Min != nil {
		s.Min = *w.Min
	}
	s.Target = s.Min
	if w.Target != nil {
		s.Target = *w.Target
	}
	return nil
}
