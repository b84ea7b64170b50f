package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dstackgo/dstack/backends/agent/hostinfo"
	"github.com/dstackgo/dstack/backends/agent/runner"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// createRequest builds the container: entrypoint = the bind-mounted runner,
// mounts, network, ports, limits and devices.
func (e *dockerExecutor) createRequest(spec TaskSpec) (*dockerCreateRequest, error) {
	cfg := spec.Config
	bridge := cfg.NetworkMode == schemas.NetworkModeBridge
	rc := runner.Config{
		HTTPAddress: "127.0.0.1", HTTPPort: e.cfg.RunnerHTTPPort, TempDir: containerRunnerDir,
		SSHPort: e.cfg.RunnerSSHPort, SSHAuthorizedKeys: cfg.ContainerSSHKeys,
		LogLevel: e.cfg.RunnerLogLevel, Version: e.cfg.Version,
	}
	if bridge {
		// Only reachable through the ports bound to the host's 127.0.0.1.
		rc.HTTPAddress = "0.0.0.0"
	}
	mounts, err := e.mounts(spec)
	if err != nil {
		return nil, err
	}
	req := &dockerCreateRequest{
		Image:      cfg.ImageName,
		Entrypoint: append(append([]string{containerRunnerBinary}, e.cfg.RunnerArgs...), rc.Args()...),
		Env:        passEnv(e.cfg.PassEnv),
		User:       cfg.ContainerUser,
		Labels:     map[string]string{labelIsTask: "true", labelTaskID: spec.ID},
		HostConfig: dockerHostConfig{
			Privileged:  cfg.Privileged || e.cfg.Privileged,
			NetworkMode: string(cfg.NetworkMode),
			Mounts:      mounts,
			ShmSize:     cfg.ShmSize,
			NanoCpus:    int64(cfg.CPU * 1e9),
			Memory:      cfg.Memory,
		},
	}
	if cfg.ShmSize > 0 { // /dev/shm with exec, as some workloads need it
		req.HostConfig.Tmpfs = map[string]string{"/dev/shm": fmt.Sprintf("exec,size=%d", cfg.ShmSize)}
	}
	if bridge {
		req.ExposedPorts = map[string]struct{}{}
		req.HostConfig.PortBindings = map[string][]dockerPortBinding{}
		for _, p := range []int{e.cfg.RunnerHTTPPort, e.cfg.RunnerSSHPort} {
			key := strconv.Itoa(p) + "/tcp"
			req.ExposedPorts[key] = struct{}{}
			req.HostConfig.PortBindings[key] = []dockerPortBinding{{HostIP: "127.0.0.1"}}
		}
	}
	e.configureDevices(&req.HostConfig, spec)
	return req, nil
}

func passEnv(names []string) []string {
	var env []string
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// mounts returns the runner dir and binary, volumes and instance mounts.
func (e *dockerExecutor) mounts(spec TaskSpec) ([]dockerMount, error) {
	mounts := []dockerMount{
		{Type: "bind", Source: filepath.Join(spec.Dir, "runner"), Target: containerRunnerDir},
		{Type: "bind", Source: e.cfg.RunnerBinary, Target: containerRunnerBinary, ReadOnly: true},
	}
	for _, v := range spec.Config.VolumeMounts {
		mounts = append(mounts, dockerMount{Type: "bind", Source: filepath.Join(volumesRoot, v.Name), Target: v.Path})
	}
	for _, m := range spec.Config.InstanceMounts {
		if err := os.MkdirAll(m.InstancePath, 0o755); err != nil {
			return nil, fmt.Errorf("create instance mount %s: %w", m.InstancePath, err)
		}
		mounts = append(mounts, dockerMount{Type: "bind", Source: m.InstancePath, Target: m.Path})
	}
	return mounts, nil
}

// configureDevices passes GPUs (explicit devices, NVIDIA device requests or
// AMD device nodes) and InfiniBand/EFA devices.
func (e *dockerExecutor) configureDevices(hc *dockerHostConfig, spec TaskSpec) {
	device := func(p string) dockerDevice {
		return dockerDevice{PathOnHost: p, PathInContainer: p, CgroupPermissions: "rwm"}
	}
	switch {
	case len(spec.Config.GPUDevices) > 0:
		for _, d := range spec.Config.GPUDevices {
			hc.Devices = append(hc.Devices, dockerDevice{PathOnHost: d.PathOnHost,
				PathInContainer: d.PathInContainer, CgroupPermissions: "rwm"})
		}
	case len(spec.GPUIDs) == 0:
	case e.vendor == hostinfo.VendorNvidia:
		hc.DeviceRequests = append(hc.DeviceRequests, dockerDeviceRequest{
			DeviceIDs:    spec.GPUIDs,
			Capabilities: [][]string{{"gpu", "utility", "compute", "graphics", "video", "compat32"}},
		})
	case e.vendor == hostinfo.VendorAMD:
		hc.Devices = append(hc.Devices, device("/dev/kfd"))
		for _, p := range spec.GPUIDs {
			hc.Devices = append(hc.Devices, device(p))
		}
		hc.IpcMode = "host"
		hc.CapAdd = append(hc.CapAdd, "SYS_PTRACE")
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
	}
	if _, err := os.Stat("/dev/infiniband"); err == nil {
		hc.Devices = append(hc.Devices, device("/dev/infiniband"))
		hc.Ulimits = append(hc.Ulimits, dockerUlimit{Name: "memlock", Soft: -1, Hard: -1})
	}
}
