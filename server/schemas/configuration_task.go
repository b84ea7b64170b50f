package schemas

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// TaskConfiguration is `type: task`. A multi-node task sets either `nodes` (homogeneous) or
// `groups` (heterogeneous node groups; top-level commands, ports and entrypoint are then
// not allowed). nodes and groups are omitted from JSON when null, as the CLI sends them.
type TaskConfiguration struct {
	Nodes    *int          `json:"nodes,omitempty"` // null → 1
	Groups   []NodeGroup   `json:"groups,omitempty"`
	Ports    []PortMapping `json:"ports"`
	Commands []string      `json:"commands"`
	BaseRunConfiguration
	ProfileParams
}

// NodeGroup is one group of a heterogeneous multi-node task. Unnamed groups are named by
// position ("0", "1", …). resources does not inherit the task's top-level resources.
type NodeGroup struct {
	Name      *string       `json:"name"`
	Nodes     int           `json:"nodes"`
	Resources ResourcesSpec `json:"resources"`
	Commands  []string      `json:"commands"`
	Ports     []PortMapping `json:"ports"`
}

// NewTaskConfiguration returns a task configuration with every default set.
func NewTaskConfiguration() TaskConfiguration {
	var c TaskConfiguration
	c.SetDefaults()
	return c
}

func (c *TaskConfiguration) SetDefaults() {
	c.setBaseDefaults(ConfigurationTypeTask)
	c.Ports, c.Commands = []PortMapping{}, []string{}
}

func (g *NodeGroup) SetDefaults() {
	g.Nodes = 1
	g.Resources = DefaultResourcesSpec()
	g.Commands, g.Ports = []string{}, []PortMapping{}
}

// ConfigurationType returns "task".
func (c TaskConfiguration) ConfigurationType() string { return ConfigurationTypeTask }

// MarshalJSON writes upstream's field order; non-nullable lists are written as [].
func (c TaskConfiguration) MarshalJSON() ([]byte, error) {
	type plain TaskConfiguration
	p := plain(c)
	p.Ports, p.Commands = orEmpty(p.Ports), orEmpty(p.Commands)
	p.fillEmptyLists()
	return marshalPlain(p)
}

// UnmarshalJSON decodes leniently (unknown fields ignored).
func (c *TaskConfiguration) UnmarshalJSON(b []byte) error { return decode.JSON(b, c) }

// UnmarshalYAML decodes strictly (unknown keys are errors).
func (c *TaskConfiguration) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, c) }

func (c *TaskConfiguration) AfterDecode() error {
	for i := range c.Groups {
		if c.Groups[i].Name == nil {
			name := fmt.Sprint(i)
			c.Groups[i].Name = &name
		}
	}
	return c.checkType(ConfigurationTypeTask)
}

// NodeGroups returns the task's node groups: its groups, or one group "0" made of the
// top-level nodes (null → 1), commands, resources and ports.
func (c TaskConfiguration) NodeGroups() []NodeGroup {
	if c.Groups != nil {
		return c.Groups
	}
	nodes, name := 1, DefaultReplicaGroup
	if c.Nodes != nil {
		nodes = *c.Nodes
	}
	return []NodeGroup{{Name: &name, Nodes: nodes, Resources: c.Resources, Commands: c.Commands, Ports: c.Ports}}
}

// Validate checks the configuration as upstream's model and server do.
func (c TaskConfiguration) Validate() error {
	if err := c.checkType(ConfigurationTypeTask); err != nil {
		return err
	}
	if err := c.validateBase("run"); err != nil {
		return err
	}
	if err := c.ProfileParams.validate(); err != nil {
		return err
	}
	if c.Nodes != nil && c.Groups != nil {
		return decode.WithPath("groups", fmt.Errorf("`nodes` and `groups` are mutually exclusive"))
	}
	if c.Nodes != nil && *c.Nodes < 1 {
		return decode.WithPath("nodes", fmt.Errorf("must be at least 1, got %d", *c.Nodes))
	}
	if c.Groups == nil {
		if len(c.Commands) == 0 && c.Image == nil {
			return decode.WithPath("commands", fmt.Errorf("either `commands` or `image` must be set"))
		}
		return nil
	}
	return c.validateGroups()
}

func (c TaskConfiguration) validateGroups() error {
	switch {
	case len(c.Groups) == 0:
		return decode.WithPath("groups", fmt.Errorf("`groups` cannot be an empty list"))
	case len(c.Commands) > 0:
		return decode.WithPath("commands", fmt.Errorf("top-level `commands` is not allowed when `groups` is set; specify `commands` in each node group"))
	case len(c.Ports) > 0:
		return decode.WithPath("ports", fmt.Errorf("top-level `ports` is not allowed when `groups` is set; specify `ports` in each node group"))
	case c.Entrypoint != nil:
		return decode.WithPath("entrypoint", fmt.Errorf("top-level `entrypoint` is not allowed when `groups` is set; specify `commands` in each node group"))
	}
	seen := map[string]bool{}
	for i, g := range c.Groups {
		path := "groups" + decode.IndexSeg(i)
		name := fmt.Sprint(i)
		if g.Name != nil {
			name = *g.Name
		}
		if !groupNameRe().MatchString(name) {
			return decode.WithPath(path+".name", fmt.Errorf("invalid node group name %q; it must match %s", name, groupNameRe()))
		}
		if seen[name] {
			return decode.WithPath(path+".name", fmt.Errorf("duplicate node group name %q; each node group must have a unique name", name))
		}
		seen[name] = true
		if g.Nodes < 1 {
			return decode.WithPath(path+".nodes", fmt.Errorf("must be at least 1, got %d", g.Nodes))
		}
		if len(g.Commands) == 0 && c.Image == nil {
			return decode.WithPath(path+".commands", fmt.Errorf("node group %q: either `commands` must be set in the group, or `image` at the task level", name))
		}
		if err := g.Resources.Validate(); err != nil {
			return decode.WithPath(path+".resources", err)
		}
	}
	return nil
}
