package sshtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
)

// Subnets are 10.X.Y.0/24 with X in [firstOctet, firstOctet+octetSpan):
// the host is .2, the other end of its veth pair .1.
const (
	firstOctet  = 160
	octetSpan   = 64
	subnetCount = octetSpan * 256
	// fallbackMetric is the metric of the "unreachable" route each host
	// adds for its subnet in the root namespace, so that packets for a
	// host behind another, or for a removed host, fail here (no route to
	// host) instead of following the default route off the machine.
	fallbackMetric = "4242"
)

var allocCounter atomic.Uint32

// netAlloc is a host's namespace and veth pair.
type netAlloc struct {
	name    string // namespace name = user name; veth ends are name+"o"/name+"i"
	subnet  string // 10.X.Y.0/24
	peerIP  string // 10.X.Y.1 on the outer end
	hostIP  string // 10.X.Y.2 in the namespace
	outerNS string // namespace of the outer end, "" = root
	// inSubnet is a host of a reserved subnet: the outer end has the
	// gateway address and a route to the host alone.
	inSubnet bool
}

// allocNetwork claims a free subnet by creating its namespace: the name
// derives from the subnet, and `ip netns add` fails when another test
// (in any process) holds it. The start point mixes the pid and a counter.
func allocNetwork(behind *Host) (netAlloc, error) {
	start := (uint32(os.Getpid())*7919 + allocCounter.Add(1)*131) % subnetCount
	for i := uint32(0); i < subnetCount; i++ {
		n := (start + i) % subnetCount
		x, y := firstOctet+n/256, n%256
		a := netAlloc{
			name:   fmt.Sprintf("dsh%d-%d", x, y),
			subnet: fmt.Sprintf("10.%d.%d.0/24", x, y),
			peerIP: fmt.Sprintf("10.%d.%d.1", x, y),
			hostIP: fmt.Sprintf("10.%d.%d.2", x, y),
		}
		if behind != nil {
			a.outerNS = behind.net.name
		}
		if subnetInUse(a.hostIP) {
			continue
		}
		if err := exec.Command("ip", "netns", "add", a.name).Run(); err != nil {
			continue // held by another test
		}
		return a, nil
	}
	return netAlloc{}, errors.New("no free test subnet")
}

// subnetInUse reports a route other than the default covering ip (a
// network of the machine, or a host left over by a crashed run).
func subnetInUse(ip string) bool {
	out, err := exec.Command("ip", "-4", "route", "show", "match", ip).Output()
	if err != nil {
		return true
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasPrefix(l, "default") {
			return true
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(net.ParseIP(ip)) {
				return true
			}
		}
	}
	return false
}

// altIP is a second address of the host in its subnet (10.X.Y.3).
func (a netAlloc) altIP() string {
	return strings.TrimSuffix(a.hostIP, ".2") + ".3"
}

// ipIn runs `ip` in namespace ns ("" = root).
func ipIn(ns string, args ...string) error {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// up creates the veth pair and addresses, and the root fallback route.
func (a netAlloc) up() error {
	outer, inner := a.name+"o", a.name+"i"
	if a.inSubnet {
		return runSteps([][]string{
			{"", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", a.name},
			{"", "addr", "add", a.peerIP + "/32", "dev", outer},
			{"", "link", "set", outer, "up"},
			{"", "route", "add", a.hostIP + "/32", "dev", outer, "src", a.peerIP},
			{a.name, "link", "set", "lo", "up"},
			{a.name, "addr", "add", a.hostIP + "/24", "dev", inner},
			{a.name, "link", "set", inner, "up"},
		})
	}
	steps := [][]string{
		{"", "route", "add", "unreachable", a.subnet, "metric", fallbackMetric},
		{"", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", a.name},
	}
	if a.outerNS != "" {
		steps = append(steps, []string{"", "link", "set", outer, "netns", a.outerNS})
	}
	steps = append(steps,
		[]string{a.outerNS, "addr", "add", a.peerIP + "/24", "dev", outer},
		[]string{a.outerNS, "link", "set", outer, "up"},
		[]string{a.name, "link", "set", "lo", "up"},
		[]string{a.name, "addr", "add", a.hostIP + "/24", "dev", inner},
		[]string{a.name, "link", "set", inner, "up"},
	)
	return runSteps(steps)
}

func runSteps(steps [][]string) error {
	for _, s := range steps {
		if err := ipIn(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// setLink sets the host's end "up" or "down": down, the host drops off the
// network like a pulled cable (its peer keeps address and route, so packets
// to it are lost rather than rerouted).
func (a netAlloc) setLink(state string) error {
	return ipIn(a.name, "link", "set", a.name+"i", state)
}

// down deletes the namespace (and with it the veth pair), the outer end
// explicitly (deletion is otherwise asynchronous), and the fallback route.
func (a netAlloc) down() {
	_ = ipIn(a.outerNS, "link", "del", a.name+"o")
	_ = ipIn("", "netns", "delete", a.name)
	if !a.inSubnet {
		_ = ipIn("", "route", "del", "unreachable", a.subnet, "metric", fallbackMetric)
	}
}
