package schemas

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// PortMapping maps a local (client-side) port to a container port. Input: 8080 (local =
// container = 8080), "80:8080", "*:8080" (any free local port: local_port null), or
// {local_port?, container_port}. Ports must be within 1..65535.
type PortMapping struct {
	LocalPort     *int `json:"local_port"`
	ContainerPort int  `json:"container_port" dstack:"required"`
}

var portMappingRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:(\d+|\*):)?(\d+)?$`) })

const portForms = `accepted: 8080, "80:8080", "*:8080" or {local_port, container_port}`

// ParsePortMapping parses the string form of a PortMapping.
func ParsePortMapping(s string) (PortMapping, error) {
	m := portMappingRe().FindStringSubmatch(s)
	if m == nil || m[2] == "" {
		return PortMapping{}, fmt.Errorf("invalid port mapping %q; %s", s, portForms)
	}
	container, err := strconv.Atoi(m[2])
	if err != nil {
		return PortMapping{}, fmt.Errorf("invalid port mapping %q; %s", s, portForms)
	}
	pm := PortMapping{ContainerPort: container}
	switch m[1] {
	case "":
		pm.LocalPort = &container
	case "*":
	default:
		local, err := strconv.Atoi(m[1])
		if err != nil {
			return PortMapping{}, fmt.Errorf("invalid port mapping %q; %s", s, portForms)
		}
		pm.LocalPort = &local
	}
	return pm, pm.check()
}

func (p PortMapping) check() error {
	if p.ContainerPort < 1 || p.ContainerPort > 65535 {
		return fmt.Errorf("container_port %d is out of range 1..65535", p.ContainerPort)
	}
	if p.LocalPort != nil && (*p.LocalPort < 1 || *p.LocalPort > 65535) {
		return fmt.Errorf("local_port %d is out of range 1..65535", *p.LocalPort)
	}
	return nil
}

// UnmarshalJSON accepts every input form listed on PortMapping.
func (p *PortMapping) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (p *PortMapping) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

func (p *PortMapping) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	var err error
	switch n.Kind {
	case decode.IntNode:
		port := int(n.Int)
		*p = PortMapping{LocalPort: &port, ContainerPort: port}
	case decode.StringNode:
		*p, err = ParsePortMapping(n.Str)
	case decode.MapNode:
		if err := d.Struct(n, p); err != nil {
			return err
		}
	default:
		return decode.Errorf(n, "invalid port %s; %s", n.Describe(), portForms)
	}
	if err == nil {
		err = p.check()
	}
	if err != nil {
		return decode.Errorf(n, "%v", err)
	}
	return nil
}

// ServicePort is a service's `port`. Only container_port is used; an integer N means
// {local_port: 80, container_port: N}. Input: N, "N", "A:B" or {local_port, container_port}.
type ServicePort PortMapping

var servicePortRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+:[0-9]+$`) })

const servicePortForms = `accepted: 8000, "80:8000" or {local_port, container_port}`

// UnmarshalJSON accepts every input form listed on ServicePort.
func (p *ServicePort) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (p *ServicePort) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

func (p *ServicePort) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	local := 80
	switch {
	case n.Kind == decode.IntNode || (n.Kind == decode.StringNode && strings.Trim(n.Str, "0123456789") == "" && n.Str != ""):
		port, err := decode.AsInt(n)
		if err != nil {
			return decode.Errorf(n, "invalid port %s; %s", n.Describe(), servicePortForms)
		}
		*p = ServicePort{LocalPort: &local, ContainerPort: int(port)}
	case n.Kind == decode.StringNode && servicePortRe().MatchString(n.Str):
		pm, err := ParsePortMapping(n.Str)
		if err != nil {
			return decode.Errorf(n, "%v", err)
		}
		*p = ServicePort(pm)
	case n.Kind == decode.MapNode:
		if err := d.Struct(n, p); err != nil {
			return err
		}
	default:
		return decode.Errorf(n, "invalid port %s; %s", n.Describe(), servicePortForms)
	}
	if err := PortMapping(*p).check(); err != nil {
		return decode.Errorf(n, "%v", err)
	}
	return nil
}

// EntityReference names an entity (fleet, gateway) possibly in another project. Input:
// "name", "project/name" or {project?, name}. Output: {"project": p|null, "name": n}; clients
// older than 0.20.14 (fleets) / 0.20.20 (gateway) expect the String() form instead.
type EntityReference struct {
	Project *string `json:"project"`
	Name    string  `json:"name" dstack:"required"`
	// LegacyString makes MarshalJSON write the String() form, for old clients.
	LegacyString bool `json:"-"`
}

const entityRefForms = "accepted: `<name>`, `<project>/<name>` or {project, name}"

// ParseEntityReference parses "name" or "project/name".
func ParseEntityReference(s string) (EntityReference, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "" {
			parts = nil
		}
	}
	switch len(parts) {
	case 1:
		return EntityReference{Name: parts[0]}, nil
	case 2:
		return EntityReference{Project: &parts[0], Name: parts[1]}, nil
	}
	return EntityReference{}, fmt.Errorf("invalid entity reference %q; %s", s, entityRefForms)
}

// String renders "name" or "project/name".
func (r EntityReference) String() string {
	if r.Project == nil {
		return r.Name
	}
	return *r.Project + "/" + r.Name
}

// MarshalJSON writes {"project", "name"}, or the string form when LegacyString is set.
func (r EntityReference) MarshalJSON() ([]byte, error) {
	if r.LegacyString {
		return json.Marshal(r.String())
	}
	return json.Marshal(struct {
		Project *string `json:"project"`
		Name    string  `json:"name"`
	}{r.Project, r.Name})
}

// UnmarshalJSON accepts every input form listed on EntityReference.
func (r *EntityReference) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (r *EntityReference) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

func (r *EntityReference) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.StringNode:
		ref, err := ParseEntityReference(n.Str)
		if err != nil {
			return decode.Errorf(n, "%v", err)
		}
		*r = ref
		return nil
	case decode.MapNode:
		return d.Struct(n, r)
	}
	return decode.Errorf(n, "invalid reference %s; %s", n.Describe(), entityRefForms)
}
