package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

const cgroupRoot = "/sys/fs/cgroup"

// collectMetrics reads the runner's cgroup (v2, or v1 cpuacct+memory) and
// nvidia-smi when present.
func collectMetrics(ctx context.Context) (*schemas.SystemMetrics, error) {
	m := &schemas.SystemMetrics{Timestamp: time.Now().UnixMicro(), GPUMetrics: []schemas.GPUMetrics{}}
	var err error
	if _, statErr := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); statErr == nil {
		err = cgroupV2(m)
	} else {
		err = cgroupV1(m)
	}
	if err != nil {
		return nil, err
	}
	m.GPUMetrics = nvidiaMetrics(ctx)
	return m, nil
}

// cgroupPath returns the directory of the process's cgroup for a controller
// ("" = the v2 unified hierarchy), falling back to the mount root when the
// path is not visible (e.g. inside a container's cgroup namespace).
func cgroupPath(mount, controller string) string {
	data, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		match := controller == "" && parts[0] == "0" && parts[1] == ""
		for _, c := range strings.Split(parts[1], ",") {
			match = match || (controller != "" && c == controller)
		}
		if match {
			if p := filepath.Join(mount, parts[2]); dirExists(p) {
				return p
			}
		}
	}
	return mount
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func cgroupV2(m *schemas.SystemMetrics) error {
	dir := cgroupPath(cgroupRoot, "")
	usage, err := statValue(filepath.Join(dir, "cpu.stat"), "usage_usec")
	if err != nil {
		return err
	}
	m.CPUUsage = usage
	if m.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return err
	}
	inactive, _ := statValue(filepath.Join(dir, "memory.stat"), "inactive_file")
	m.MemoryWorkingSet = m.MemoryUsage - min(inactive, m.MemoryUsage)
	return nil
}

func cgroupV1(m *schemas.SystemMetrics) error {
	cpuDir := cgroupPath(filepath.Join(cgroupRoot, "cpuacct"), "cpuacct")
	ns, err := readUint(filepath.Join(cpuDir, "cpuacct.usage"))
	if err != nil {
		return err
	}
	m.CPUUsage = ns / 1000
	memDir := cgroupPath(filepath.Join(cgroupRoot, "memory"), "memory")
	if m.MemoryUsage, err = readUint(filepath.Join(memDir, "memory.usage_in_bytes")); err != nil {
		return err
	}
	inactive, _ := statValue(filepath.Join(memDir, "memory.stat"), "total_inactive_file")
	m.MemoryWorkingSet = m.MemoryUsage - min(inactive, m.MemoryUsage)
	return nil
}

func readUint(p string) (uint64, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", p, err)
	}
	return v, nil
}

// statValue returns the value of key in a "key value" per line file.
func statValue(p, key string) (uint64, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New(key + " not found in " + p)
}

// nvidiaMetrics queries memory use (MiB) and utilization per NVIDIA GPU.
func nvidiaMetrics(ctx context.Context) []schemas.GPUMetrics {
	out := []schemas.GPUMetrics{}
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	data, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=memory.used,utilization.gpu",
		"--format=csv,noheader,nounits").Output()
	if err != nil {
		return out
	}
	return parseNvidiaMetrics(data)
}

// parseNvidiaMetrics parses `nvidia-smi --query-gpu=memory.used,utilization.gpu
// --format=csv,noheader,nounits` (MiB, percent); bad lines are skipped.
func parseNvidiaMetrics(data []byte) []schemas.GPUMetrics {
	out := []schemas.GPUMetrics{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		mem, util, ok := strings.Cut(line, ",")
		if !ok {
			continue
		}
		mib, err1 := strconv.ParseUint(strings.TrimSpace(mem), 10, 64)
		pct, err2 := strconv.ParseUint(strings.TrimSpace(util), 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, schemas.GPUMetrics{GPUMemoryUsage: mib << 20, GPUUtil: pct})
		}
	}
	return out
}
