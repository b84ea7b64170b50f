package services

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// SSHProxy is a resolved jump host.
type SSHProxy struct {
	Hostname   string `json:"hostname"`
	Port       int    `json:"port"`
	User       string `json:"user"`
	PrivateKey string `json:"private_key"`
}

// RemoteHost is everything the server needs to reach one SSH fleet host.
// It is stored sealed in instances.remote_connection_info.
type RemoteHost struct {
	Hostname   string            `json:"hostname"`
	Port       int               `json:"port"`
	User       string            `json:"user"`
	PrivateKey string            `json:"private_key"`
	PublicKey  string            `json:"public_key"`
	ProxyJump  *SSHProxy         `json:"proxy_jump,omitempty"`
	InternalIP *string           `json:"internal_ip,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	// Blocks is the host's block count; 0 means "auto" (as many as GPUs,
	// or 1 without GPUs), resolved once the host's facts are known.
	Blocks int `json:"blocks"`
}

// resolveHosts merges the fleet-wide ssh_config defaults into each host.
func resolveHosts(c schemas.FleetConfiguration) ([]RemoteHost, error) {
	sc := c.SSHConfig
	out := make([]RemoteHost, 0, len(sc.Hosts))
	for i, h := range sc.Hosts {
		rh := RemoteHost{Hostname: h.Host(), Port: 22, Env: c.Env.Map()}
		if sc.Port != nil {
			rh.Port = *sc.Port
		}
		if sc.User != nil {
			rh.User = *sc.User
		}
		key := sc.SSHKey
		proxy := sc.ProxyJump
		blocks := c.Blocks
		if p := h.Params; p != nil {
			if p.Port != nil {
				rh.Port = *p.Port
			}
			if p.User != nil {
				rh.User = *p.User
			}
			if p.SSHKey != nil {
				key = p.SSHKey
			}
			if p.ProxyJump != nil {
				proxy = p.ProxyJump
			}
			if p.Blocks != nil {
				blocks = *p.Blocks
			}
			rh.InternalIP = p.InternalIP
		}
		if key == nil || key.Private == nil || rh.User == "" {
			return nil, InvalidField(fmt.Sprintf("ssh_config.hosts[%d]", i), "Host %s needs a user and a private key (ssh_config.user and identity_file, or per host)", rh.Hostname)
		}
		rh.PrivateKey, rh.PublicKey = *key.Private, key.Public
		if !blocks.Auto {
			rh.Blocks = blocks.N
		}
		if proxy != nil {
			sp := &SSHProxy{Hostname: proxy.Hostname, Port: 22, User: proxy.User}
			if proxy.Port != nil {
				sp.Port = *proxy.Port
			}
			if proxy.SSHKey == nil || proxy.SSHKey.Private == nil {
				return nil, InvalidField("ssh_config.proxy_jump", "The proxy jump %s needs a private key (identity_file)", proxy.Hostname)
			}
			sp.PrivateKey = *proxy.SSHKey.Private
			rh.ProxyJump = sp
		}
		out = append(out, rh)
	}
	return out, nil
}

// hostKey identifies a host across fleets.
func (h RemoteHost) hostKey() string { return fmt.Sprintf("%s:%d", h.Hostname, h.Port) }

// Address is the host as instances.host_address holds it: hostKey in
// lower case (host names are case-insensitive).
func (h RemoteHost) Address() string { return strings.ToLower(h.hostKey()) }

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // only wire types, which always marshal
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
