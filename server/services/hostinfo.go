package services

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// RemoteHostOf opens an instance's sealed connection info.
func (s Fleets) RemoteHostOf(in *db.Instance) (*RemoteHost, error) { return s.remoteHost(in) }

// ApplyHostInfo turns a deployed host's facts into the instance's type,
// offer, provisioning data and blocks; the instances pipeline then makes it
// idle. An error says why the host cannot serve as the fleet's instance.
//
// hostKey is the host's pinned SSH host key (authorized_keys format, ""
// when unknown): it goes in the provisioning data's backend_data, where
// `dstack attach` checks the host against it.
func ApplyHostInfo(in *db.Instance, rh *RemoteHost, info *sshfleet.HostInfo, hostKey string) error {
	res := schemas.Resources{CPUs: info.CPUs, MemoryMiB: int(info.Memory >> 20), Gpus: []schemas.Gpu{},
		Disk: schemas.Disk{SizeMiB: int(info.DiskSize >> 20)}}
	if info.Arch == "arm64" {
		res.CPUArch = ptr("arm")
	} else {
		res.CPUArch = ptr("x86")
	}
	vendor := strings.ToLower(info.GpuVendor)
	for range info.GpuCount {
		g := schemas.Gpu{Name: info.GpuName, MemoryMiB: info.GpuMemory}
		if vendor != "" && vendor != "none" {
			g.Vendor = ptr(vendor)
		}
		res.Gpus = append(res.Gpus, g)
	}
	blocks := rh.Blocks
	if blocks == 0 { // auto: one block per GPU, or the whole host without GPUs
		blocks = max(info.GpuCount, 1)
	}
	if info.GpuCount > 0 && info.GpuCount%blocks != 0 {
		return fmt.Errorf("blocks: %d does not divide the host's %d GPUs evenly", blocks, info.GpuCount)
	}
	if blocks > info.CPUs {
		return fmt.Errorf("blocks: %d is more than the host's %d CPUs", blocks, info.CPUs)
	}
	it := schemas.InstanceType{Name: "instance", Resources: res}
	jpd := schemas.JobProvisioningData{Backend: "remote", InstanceType: it, InstanceID: in.Name, Hostname: ptr(rh.Hostname),
		InternalIP: internalIP(rh, info.Addresses), PublicIPEnabled: true, Region: "remote", Price: 0, Username: rh.User,
		SSHPort: ptr(rh.Port), Dockerized: true}
	if j := rh.ProxyJump; j != nil {
		jpd.SSHProxy = &schemas.SSHConnectionParams{Hostname: j.Hostname, Username: j.User, Port: j.Port}
	}
	if hostKey != "" {
		jpd.BackendData = ptr(marshal(schemas.RemoteBackendData{SSHHostKey: hostKey}))
	}
	offer := schemas.InstanceOffer{Backend: "remote", Instance: it, Region: "remote", Price: 0, BackendData: []byte("{}"),
		Availability: schemas.AvailabilityAvailable, InstanceRuntime: "shim", Blocks: blocks, TotalBlocks: blocks}
	now := time.Now().UTC()
	in.StartedAt = &now
	in.Offer = ptr(marshal(offer))
	in.JobProvisioningData = ptr(marshal(jpd))
	in.HostInfo = ptr(marshal(info))
	in.TotalBlocks = &blocks
	return nil
}

// internalIP is the configured internal IP, else the address the server
// reaches the host at when it is one of the host's, else the host's first
// private IPv4 address.
func internalIP(rh *RemoteHost, addrs []string) *string {
	if rh.InternalIP != nil {
		return rh.InternalIP
	}
	if ip, err := netip.ParseAddr(rh.Hostname); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a); err == nil && p.Addr() == ip {
				return ptr(ip.String())
			}
		}
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			continue
		}
		if ip := p.Addr(); ip.Is4() && ip.IsPrivate() {
			return ptr(ip.String())
		}
	}
	return nil
}
