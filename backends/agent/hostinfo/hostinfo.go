// Package hostinfo detects the resources of a host (CPUs, memory, disk, GPUs,
// addresses) and reads/writes host_info.json, the file the server reads over
// SSH when it adds a host to an SSH fleet.
package hostinfo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileName is the name of the host facts file in the shim home dir.
const FileName = "host_info.json"

// GPU vendors as written to host_info.json.
const (
	VendorNone   = "none"
	VendorNvidia = "nvidia"
	VendorAMD    = "amd"
)

// GPU is one detected accelerator.
type GPU struct {
	Vendor    string
	Name      string
	MemoryMiB int
	// ID is the NVIDIA UUID ("GPU-…"), used for Docker device requests.
	ID string
	// RenderNode is the AMD DRI render node path, e.g. /dev/dri/renderD128.
	RenderNode    string
	DriverVersion string
}

// Facts are the detected resources of the host.
type Facts struct {
	CPUs        int
	MemoryBytes uint64
	DiskBytes   uint64 // available bytes on the filesystem of the data dir
	GPUs        []GPU
	Addresses   []string // non-loopback interface addresses in CIDR form
}

// Info is the content of host_info.json: the upstream keys (memory and
// disk_size in bytes, gpu_memory in MiB) plus our executor kind.
type Info struct {
	GpuVendor string   `json:"gpu_vendor"`
	GpuName   string   `json:"gpu_name"`
	GpuMemory int      `json:"gpu_memory"`
	GpuCount  int      `json:"gpu_count"`
	Addresses []string `json:"addresses"`
	DiskSize  uint64   `json:"disk_size"`
	CPUs      int      `json:"cpus"`
	Memory    uint64   `json:"memory"`
	Executor  string   `json:"executor,omitempty"`
}

// Info converts the facts into host_info.json content.
func (f Facts) Info(executor string) Info {
	info := Info{
		GpuVendor: VendorNone, Addresses: f.Addresses, DiskSize: f.DiskBytes,
		CPUs: f.CPUs, Memory: f.MemoryBytes, Executor: executor,
	}
	if info.Addresses == nil {
		info.Addresses = []string{}
	}
	if len(f.GPUs) > 0 {
		g := f.GPUs[0]
		info.GpuVendor, info.GpuName, info.GpuMemory, info.GpuCount = g.Vendor, g.Name, g.MemoryMiB, len(f.GPUs)
	}
	return info
}

// Detect gathers the host facts; diskPath selects the filesystem measured.
// Detection problems leave the corresponding fact zero.
func Detect(ctx context.Context, diskPath string) Facts {
	f := Facts{CPUs: runtime.NumCPU(), GPUs: DetectGPUs(ctx)}
	f.MemoryBytes, _ = totalMemory("/proc/meminfo")
	f.DiskBytes, _ = availableDisk(diskPath)
	f.Addresses, _ = addresses()
	return f
}

func totalMemory(meminfo string) (uint64, error) {
	file, err := os.Open(meminfo)
	if err != nil {
		return 0, fmt.Errorf("open meminfo: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("MemTotal not found in %s", meminfo)
}

func availableDisk(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func addresses() ([]string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := []string{}
	for _, iface := range ifaces {
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
				out = append(out, ipn.String())
			}
		}
	}
	return out, nil
}

// WriteFile writes info to dir/host_info.json atomically (replacing any
// previous file).
func WriteFile(dir string, info Info) error {
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode host info: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".host_info-*")
	if err != nil {
		return fmt.Errorf("create host info: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write host info: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("sync host info: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close host info: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod host info: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return fmt.Errorf("rename host info: %w", err)
	}
	return nil
}

// ReadFile reads a host_info.json.
func ReadFile(path string) (Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Info{}, fmt.Errorf("read host info: %w", err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return Info{}, fmt.Errorf("decode host info: %w", err)
	}
	return info, nil
}
