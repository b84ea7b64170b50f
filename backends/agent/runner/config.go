// Package runner implements the dstack runner: the agent that runs inside each
// job container (or, with the shim's process executor, as a host process),
// serves the runner HTTP API (healthcheck, metrics, submit, upload_archive,
// upload_code, run, pull, stop, logs_ws), executes the job's commands and keeps
// its states and logs in memory for the server to pull.
//
// A runner serves exactly one job: after the job has finished and its final
// state has been pulled, Run returns and the process (and its container) exits.
package runner

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Default values of Config fields.
const (
	DefaultHTTPAddress = "127.0.0.1"
	DefaultHTTPPort    = 10999
	DefaultSSHPort     = 10022
	DefaultDstackDir   = "/dstack"
)

// Config configures a runner. Zero values mean the defaults documented per field.
type Config struct {
	// HTTPAddress is the listen address; "127.0.0.1" by default. The shim
	// passes "0.0.0.0" only in bridge mode, where the container's network
	// namespace is reachable solely through a port bound to the host's loopback.
	HTTPAddress string
	// HTTPPort is the listen port; 10999 by default, negative = ephemeral.
	HTTPPort int
	// TempDir keeps uploaded code and archives and job.log; a per-process
	// directory under os.TempDir() by default.
	TempDir string
	// DstackDir keeps files shared with the job (MPI hostfile, profile,
	// sshd config); "/dstack" by default.
	DstackDir string
	// WorkDir is the job's working dir when the job spec has none; the
	// runner's current directory by default.
	WorkDir string
	// Shell runs commands that are not an argv; /bin/bash if present, else /bin/sh.
	Shell string
	// SSHPort is where the job's SSH server listens; 0 disables it.
	SSHPort int
	// SSHAuthorizedKeys are the public keys it accepts.
	SSHAuthorizedKeys []string
	// BuiltinSSH serves SSH with the built-in server even where the image
	// has an OpenSSH sshd the runner could start.
	BuiltinSSH bool
	// Version is reported by /api/healthcheck; "latest" by default.
	Version string
	// LogLevel is informational (the caller builds the logger).
	LogLevel string
	// KillGrace is the delay between SIGTERM and SIGKILL on stop; 10s by default.
	KillGrace time.Duration
	// LogBufferBytes bounds each in-memory log buffer; 16 MiB by default.
	LogBufferBytes int
	// SubmitTimeout: Run fails if no job is started within it; 5 min by default.
	SubmitTimeout time.Duration
	// LogsWaitTimeout bounds the wait for the final pull after the job
	// finished; 5 min by default.
	LogsWaitTimeout time.Duration
	// MetricsScope is what /api/metrics measures: MetricsScopeCgroup (the
	// runner's cgroup, the default) or MetricsScopeProcess (the job's
	// process tree).
	MetricsScope string
	// Commands runs the job's commands in place of a process when set (the
	// scale tests' hollow hosts, which simulate thousands of jobs in one
	// process); nil starts them as a process in the job's environment.
	Commands CommandRunner
}

// CommandRunner runs a job's commands, writing their output to out, until
// they end or ctx is cancelled (the job is stopped). It returns the exit code.
type CommandRunner func(ctx context.Context, commands []string, out io.Writer) (exitCode int, err error)

func (c Config) withDefaults() Config {
	if c.HTTPAddress == "" {
		c.HTTPAddress = DefaultHTTPAddress
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = DefaultHTTPPort
	}
	if c.TempDir == "" {
		c.TempDir = filepath.Join(os.TempDir(), "dstack-runner-"+strconv.Itoa(os.Getpid()))
	}
	if c.DstackDir == "" {
		c.DstackDir = DefaultDstackDir
	}
	if c.Version == "" {
		c.Version = "latest"
	}
	if c.KillGrace <= 0 {
		c.KillGrace = 10 * time.Second
	}
	if c.LogBufferBytes <= 0 {
		c.LogBufferBytes = 16 << 20
	}
	if c.SubmitTimeout <= 0 {
		c.SubmitTimeout = 5 * time.Minute
	}
	if c.LogsWaitTimeout <= 0 {
		c.LogsWaitTimeout = 5 * time.Minute
	}
	return c
}

// listenAddr returns host:port, mapping a negative port to an ephemeral one.
func (c Config) listenAddr() string {
	port := c.HTTPPort
	if port < 0 {
		port = 0
	}
	return fmt.Sprintf("%s:%d", c.HTTPAddress, port)
}

type stringList []string

// String implements flag.Value.
func (s *stringList) String() string { return fmt.Sprint([]string(*s)) }

// Set implements flag.Value; every occurrence of the flag appends.
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// ParseFlags parses the arguments of `dstack runner` (without the subcommand
// name) into a Config. Args is the inverse; the shim uses it to start runners.
func ParseFlags(args []string) (Config, error) {
	var c Config
	var keys stringList
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.StringVar(&c.HTTPAddress, "http-address", DefaultHTTPAddress, "HTTP listen address")
	fs.IntVar(&c.HTTPPort, "http-port", DefaultHTTPPort, "HTTP listen port")
	fs.StringVar(&c.TempDir, "temp-dir", "", "directory for uploads and logs")
	fs.StringVar(&c.DstackDir, "dstack-dir", DefaultDstackDir, "directory shared with the job")
	fs.StringVar(&c.WorkDir, "work-dir", "", "default working directory of the job")
	fs.StringVar(&c.Shell, "shell", "", "shell for commands (default bash, else sh)")
	fs.IntVar(&c.SSHPort, "ssh-port", 0, "port of the job's SSH server (0 = disabled)")
	fs.Var(&keys, "ssh-authorized-key", "public key accepted by the SSH server (repeatable)")
	fs.BoolVar(&c.BuiltinSSH, "builtin-ssh", false, "use the built-in SSH server even where the image has sshd")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level")
	fs.StringVar(&c.Version, "version", "", "version reported by /api/healthcheck")
	fs.StringVar(&c.MetricsScope, "metrics-scope", "", "what /api/metrics measures: cgroup (the runner's cgroup, the default) or process (the job's process tree)")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("parse runner flags: %w", err)
	}
	if c.MetricsScope != "" && c.MetricsScope != MetricsScopeCgroup && c.MetricsScope != MetricsScopeProcess {
		return Config{}, fmt.Errorf("parse runner flags: --metrics-scope %q: accepted values are cgroup and process", c.MetricsScope)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("parse runner flags: unexpected argument %q", fs.Arg(0))
	}
	c.SSHAuthorizedKeys = keys
	return c, nil
}

// Args renders c as command-line flags accepted by ParseFlags.
func (c Config) Args() []string {
	args := []string{"--http-address", c.HTTPAddress, "--http-port", strconv.Itoa(c.HTTPPort)}
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("temp-dir", c.TempDir)
	add("dstack-dir", c.DstackDir)
	add("work-dir", c.WorkDir)
	add("shell", c.Shell)
	add("log-level", c.LogLevel)
	add("version", c.Version)
	add("metrics-scope", c.MetricsScope)
	if c.SSHPort > 0 {
		args = append(args, "--ssh-port", strconv.Itoa(c.SSHPort))
	}
	for _, k := range c.SSHAuthorizedKeys {
		args = append(args, "--ssh-authorized-key", k)
	}
	if c.BuiltinSSH {
		args = append(args, "--builtin-ssh")
	}
	return args
}
