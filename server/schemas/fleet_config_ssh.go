package schemas

import (
	"encoding/json"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// SSHParams is an SSH fleet's `ssh_config`: defaults for every host, and the hosts.
type SSHParams struct {
	User         *string         `json:"user"`
	Port         *int            `json:"port"`
	IdentityFile *string         `json:"identity_file"`
	SSHKey       *SSHKey         `json:"ssh_key"` // filled by the CLI from identity_file
	ProxyJump    *SSHProxyParams `json:"proxy_jump"`
	Hosts        []SSHHost       `json:"hosts" dstack:"required"`
	Network      *string         `json:"network"` // private CIDR used for cluster traffic
}

// SSHHost is an ssh_config.hosts entry: a plain hostname/IP, or SSHHostParams overriding the
// fleet-wide connection parameters.
type SSHHost struct {
	Hostname string         // the plain-string form
	Params   *SSHHostParams // the object form
}

// SSHHostParams are one host's connection parameters.
type SSHHostParams struct {
	Hostname     string          `json:"hostname" dstack:"required"`
	Port         *int            `json:"port"`
	User         *string         `json:"user"`
	IdentityFile *string         `json:"identity_file"`
	ProxyJump    *SSHProxyParams `json:"proxy_jump"`
	InternalIP   *string         `json:"internal_ip"` // private; all hosts or none
	SSHKey       *SSHKey         `json:"ssh_key"`
	Blocks       *Blocks         `json:"blocks"` // null: the fleet's blocks
}

// SSHProxyParams describe a jump host.
type SSHProxyParams struct {
	Hostname     string  `json:"hostname" dstack:"required"`
	Port         *int    `json:"port"`
	User         string  `json:"user" dstack:"required"`
	IdentityFile string  `json:"identity_file" dstack:"required"`
	SSHKey       *SSHKey `json:"ssh_key"`
}

// SSHKey is an SSH key pair: the OpenSSH public key and (when uploaded by the CLI) the
// unencrypted private key in PEM/OpenSSH text.
type SSHKey struct {
	Public  string  `json:"public" dstack:"required"`
	Private *string `json:"private"`
}

// UnmarshalJSON decodes leniently (unknown fields ignored).
func (s *SSHParams) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML decodes strictly (unknown keys are errors).
func (s *SSHParams) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

// Host returns the host's hostname or IP, whichever form it was given in.
func (h SSHHost) Host() string {
	if h.Params != nil {
		return h.Params.Hostname
	}
	return h.Hostname
}

// MarshalJSON writes the string or the object form, as given.
func (h SSHHost) MarshalJSON() ([]byte, error) {
	if h.Params != nil {
		return json.Marshal(h.Params)
	}
	return json.Marshal(h.Hostname)
}

// UnmarshalJSON accepts a hostname string or an SSHHostParams object.
func (h *SSHHost) UnmarshalJSON(b []byte) error { return decode.JSON(b, h) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (h *SSHHost) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, h) }

func (h *SSHHost) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.StringNode:
		h.Hostname = n.Str
		return nil
	case decode.MapNode:
		h.Params = &SSHHostParams{}
		return d.Struct(n, h.Params)
	}
	return decode.Errorf(n, "invalid host %s; accepted: a hostname or IP, or {hostname, port, user, identity_file, proxy_jump, internal_ip, blocks}", n.Describe())
}

func (s SSHParams) clone() SSHParams {
	c := s
	c.User, c.Port, c.IdentityFile = clonePtr(s.User), clonePtr(s.Port), clonePtr(s.IdentityFile)
	c.SSHKey = s.SSHKey.clone()
	c.ProxyJump = s.ProxyJump.clone()
	c.Network = clonePtr(s.Network)
	if s.Hosts != nil {
		c.Hosts = make([]SSHHost, len(s.Hosts))
		for i, h := range s.Hosts {
			c.Hosts[i] = SSHHost{Hostname: h.Hostname}
			if p := h.Params; p != nil {
				cp := *p
				cp.Port, cp.User, cp.IdentityFile = clonePtr(p.Port), clonePtr(p.User), clonePtr(p.IdentityFile)
				cp.ProxyJump, cp.SSHKey = p.ProxyJump.clone(), p.SSHKey.clone()
				cp.InternalIP, cp.Blocks = clonePtr(p.InternalIP), clonePtr(p.Blocks)
				c.Hosts[i].Params = &cp
			}
		}
	}
	return c
}

func (p *SSHProxyParams) clone() *SSHProxyParams {
	if p == nil {
		return nil
	}
	c := *p
	c.Port, c.SSHKey = clonePtr(p.Port), p.SSHKey.clone()
	return &c
}

func (k *SSHKey) clone() *SSHKey {
	if k == nil {
		return nil
	}
	return &SSHKey{Public: k.Public, Private: clonePtr(k.Private)}
}
