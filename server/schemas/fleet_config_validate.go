package schemas

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// Validate checks the configuration as upstream's model and server do: the name, exactly one
// of ssh_config and nodes, no fields of the other fleet kind, the nodes bounds, and the SSH
// host addressing rules. SSH keys are not required here (the CLI fills them in later); see
// ValidateSSHCredentials.
func (c FleetConfiguration) Validate() error {
	if c.Type != ConfigurationTypeFleet {
		return decode.WithPath("type", fmt.Errorf("expected %q, got %q", ConfigurationTypeFleet, c.Type))
	}
	if c.Name != nil && !resourceNameRe().MatchString(*c.Name) {
		return decode.WithPath("name", fmt.Errorf("invalid fleet name %q; it must match %s", *c.Name, resourceNameRe()))
	}
	switch {
	case c.SSHConfig == nil && c.Nodes == nil:
		return fmt.Errorf("no ssh_config or nodes specified; a fleet needs `nodes` (cloud) or `ssh_config` (SSH hosts)")
	case c.SSHConfig != nil && c.Nodes != nil:
		return decode.WithPath("nodes", fmt.Errorf("`ssh_config` and `nodes` are mutually exclusive"))
	}
	if !c.Blocks.Auto && c.Blocks.N < 1 {
		return decode.WithPath("blocks", fmt.Errorf("must be >= 1 or \"auto\", got %d", c.Blocks.N))
	}
	if err := c.checkKindFields(); err != nil {
		return err
	}
	if err := c.ProfileParams().validate(); err != nil {
		return err
	}
	if c.Resources != nil {
		if err := c.Resources.Validate(); err != nil {
			return decode.WithPath("resources", err)
		}
	}
	if c.Nodes != nil {
		return decode.WithPath("nodes", c.Nodes.Validate())
	}
	return decode.WithPath("ssh_config", c.SSHConfig.validate())
}

// checkKindFields rejects fields that belong to the other kind of fleet.
func (c FleetConfiguration) checkKindFields() error {
	var set []string
	kind := "SSH"
	if c.SSHConfig == nil {
		kind = "cloud"
		if c.Env.Len() > 0 {
			set = append(set, "env")
		}
	} else {
		for name, isSet := range map[string]bool{
			"reservation": c.Reservation != nil, "resources": c.Resources != nil,
			"backends": c.Backends != nil, "regions": c.Regions != nil,
			"availability_zones": c.AvailabilityZones != nil, "instance_types": c.InstanceTypes != nil,
			"spot_policy": c.SpotPolicy != nil, "retry": c.Retry != nil, "max_price": c.MaxPrice != nil,
			"idle_duration": c.IdleDuration.Set, "tags": c.Tags != nil, "backend_options": c.BackendOptions != nil,
		} {
			if isSet {
				set = append(set, name)
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	slices.Sort(set)
	return decode.WithPath(set[0], fmt.Errorf("%s fleet configuration does not support the following fields: %s", kind, strings.Join(set, ", ")))
}

// Validate checks 0 <= min <= target <= max.
func (s FleetNodesSpec) Validate() error {
	switch {
	case s.Min < 0:
		return decode.WithPath("min", fmt.Errorf("min cannot be negative"))
	case s.Target < s.Min:
		return decode.WithPath("target", fmt.Errorf("target must not be less than min"))
	case s.Max != nil && *s.Max < s.Min:
		return decode.WithPath("max", fmt.Errorf("max must not be less than min"))
	case s.Max != nil && *s.Max < s.Target:
		return decode.WithPath("max", fmt.Errorf("max must not be less than target"))
	}
	return nil
}

func (s SSHParams) validate() error {
	if len(s.Hosts) == 0 {
		return decode.WithPath("hosts", fmt.Errorf("at least one host is required"))
	}
	if s.Network != nil {
		if err := checkPrivateNetwork(*s.Network); err != nil {
			return decode.WithPath("network", err)
		}
	}
	withIP := 0
	for i, h := range s.Hosts {
		path := "hosts" + decode.IndexSeg(i)
		if h.Host() == "" {
			return decode.WithPath(path, fmt.Errorf("hostname must not be empty"))
		}
		if h.Params == nil || h.Params.InternalIP == nil {
			continue
		}
		withIP++
		if err := checkPrivateIP(*h.Params.InternalIP); err != nil {
			return decode.WithPath(path+".internal_ip", err)
		}
		if b := h.Params.Blocks; b != nil && !b.Auto && b.N < 1 {
			return decode.WithPath(path+".blocks", fmt.Errorf("must be >= 1 or \"auto\""))
		}
	}
	switch {
	case withIP != 0 && withIP != len(s.Hosts):
		return decode.WithPath("hosts", fmt.Errorf("internal_ip must be specified for all hosts or for none"))
	case withIP > 0 && s.Network != nil:
		return decode.WithPath("network", fmt.Errorf("internal_ip is mutually exclusive with network"))
	}
	return nil
}

// ValidateSSHCredentials checks, as the server does on apply, that every host of an SSH
// fleet has a user and a private key (the CLI fills ssh_key from identity_file).
func (c FleetConfiguration) ValidateSSHCredentials() error {
	s := c.SSHConfig
	if s == nil {
		return nil
	}
	for i, h := range s.Hosts {
		hasKey, hasUser := s.SSHKey != nil, s.User != nil
		if h.Params != nil {
			hasKey = hasKey || h.Params.SSHKey != nil
			hasUser = hasUser || h.Params.User != nil
		}
		path := "ssh_config.hosts" + decode.IndexSeg(i)
		if !hasKey {
			return decode.WithPath(path, fmt.Errorf("no ssh key specified for host %s", h.Host()))
		}
		if !hasUser {
			return decode.WithPath(path, fmt.Errorf("no ssh user specified for host %s", h.Host()))
		}
	}
	for _, k := range c.sshKeys() {
		if k.Private == nil {
			return decode.WithPath("ssh_config.ssh_key", fmt.Errorf("private key not provided"))
		}
	}
	return nil
}

func (c FleetConfiguration) sshKeys() []*SSHKey {
	var keys []*SSHKey
	if c.SSHConfig.SSHKey != nil {
		keys = append(keys, c.SSHConfig.SSHKey)
	}
	for _, h := range c.SSHConfig.Hosts {
		if h.Params != nil && h.Params.SSHKey != nil {
			keys = append(keys, h.Params.SSHKey)
		}
	}
	return keys
}

// extraPrivatePrefixes lists special-purpose ranges Python's ipaddress treats as private beyond
// the RFC 1918 / ULA / loopback / link-local ones netip knows.
var extraPrivatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("192.0.0.0/29"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("::/128"),
}

func isPrivateAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range extraPrivatePrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func checkPrivateIP(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return fmt.Errorf("invalid IP address %q", s)
	}
	if !isPrivateAddr(a) {
		return fmt.Errorf("IP address %s is not private", s)
	}
	return nil
}

func checkPrivateNetwork(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("invalid network %q; accepted: a private CIDR such as 10.0.0.0/24", s)
	}
	p = p.Masked()
	last := lastAddr(p)
	if !isPrivateAddr(p.Addr()) || !isPrivateAddr(last) {
		return fmt.Errorf("public network %s is specified when a private network is required", s)
	}
	return nil
}

// lastAddr returns the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		bit := i * 8
		switch {
		case bit >= p.Bits():
			b[i] = 0xff
		case bit+8 > p.Bits():
			b[i] |= 0xff >> (p.Bits() - bit)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
