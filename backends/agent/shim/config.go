// Package shim implements the dstack shim: the host agent that serves the shim
// HTTP API v2 on 127.0.0.1:10998 and runs one task (a job container with a
// runner inside) per submitted job, through an Executor: Docker when a Docker
// Engine is reachable, otherwise the runner as a plain host process.
package shim

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
)

// Executor kinds accepted in Config.Executor.
const (
	ExecutorAuto    = "auto"
	ExecutorDocker  = "docker"
	ExecutorProcess = "process"
)

// Default values of Config fields.
const (
	DefaultHTTPAddress    = "127.0.0.1"
	DefaultHTTPPort       = 10998
	DefaultRunnerHTTPPort = 10999
	DefaultRunnerSSHPort  = 10022
	DefaultDockerSocket   = "/var/run/docker.sock"
)

// Config configures a shim. Zero values mean the documented defaults.
type Config struct {
	// HTTPAddress is the listen address, "127.0.0.1" by default: the API is
	// reachable from the network only through SSH port forwarding.
	HTTPAddress string
	// HTTPPort is the listen port; 10998 by default, negative = ephemeral.
	HTTPPort int
	// HomeDir keeps host_info.json and per-task dirs; ~/.dstack by default.
	HomeDir string
	// Version is reported by /api/healthcheck; "latest" by default (the
	// server treats a non-release version as the newest and uses API v2).
	Version string
	// Executor is "auto" (default: docker if DockerSocket answers, else
	// process), "docker" or "process".
	Executor string
	// DockerSocket is the Docker Engine's unix socket.
	DockerSocket string
	// RunnerBinary is the binary started as runner (bind-mounted into
	// containers, so it must be static); os.Executable() by default.
	RunnerBinary string
	// RunnerArgs precede the runner flags; ["runner"] by default, giving
	// `<binary> runner --http-port 10999 ...`.
	RunnerArgs []string
	// RunnerHTTPPort and RunnerSSHPort are the runner's ports (in the
	// container; preferred host ports for the process executor).
	RunnerHTTPPort int
	RunnerSSHPort  int
	// RunnerLogLevel is passed to runners.
	RunnerLogLevel string
	// Privileged makes every container privileged.
	Privileged bool
	// PassEnv names host environment variables copied into containers.
	PassEnv []string
	// LookupUser finds the host user whose authorized_keys receive the
	// tasks' keys; os/user.Lookup by default. Hollow hosts (scale tests)
	// give each host a home directory of its own.
	LookupUser func(name string) (*user.User, error)
}

func (c Config) withDefaults() (Config, error) {
	if c.HTTPAddress == "" {
		c.HTTPAddress = DefaultHTTPAddress
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = DefaultHTTPPort
	}
	if c.HomeDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("home dir: %w", err)
		}
		c.HomeDir = filepath.Join(home, ".dstack")
	}
	if c.Version == "" {
		c.Version = "latest"
	}
	if c.Executor == "" {
		c.Executor = ExecutorAuto
	}
	if c.DockerSocket == "" {
		c.DockerSocket = DefaultDockerSocket
	}
	if c.RunnerBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("locate own binary: %w", err)
		}
		c.RunnerBinary = exe
	}
	if c.RunnerArgs == nil {
		c.RunnerArgs = []string{"runner"}
	}
	if c.RunnerHTTPPort == 0 {
		c.RunnerHTTPPort = DefaultRunnerHTTPPort
	}
	if c.RunnerSSHPort == 0 {
		c.RunnerSSHPort = DefaultRunnerSSHPort
	}
	if c.LookupUser == nil {
		c.LookupUser = user.Lookup
	}
	return c, nil
}
