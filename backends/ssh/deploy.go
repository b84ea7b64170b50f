package ssh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/client"
	"github.com/dstackgo/dstack/backends/agent/hostinfo"
)

// DefaultShimPort is the shim's API port on the host's loopback.
const DefaultShimPort = 10998

// DeployOptions configure Deploy.
type DeployOptions struct {
	// Binary is the dstack executable to run as the shim; when nil,
	// Binaries gives the one for the host's architecture.
	Binary *Binary
	// Binaries gives the executable per architecture (one of Binary and
	// Binaries is required).
	Binaries BinarySource
	// AuthorizedKeys are public keys (authorized_keys lines: the project key
	// and the fleet's keys) added to the SSH user's ~/.ssh/authorized_keys,
	// tagged AuthorizedKeysMarker, unless already present.
	AuthorizedKeys []string
	// Env is the fleet's environment, added to shim.env; it overrides the
	// defaults except DSTACK_SHIM_HOME and DSTACK_SHIM_HTTP_PORT.
	Env map[string]string
	// ShimPort is the shim's API port on the host; 10998 by default.
	ShimPort int
	// Mode forces ModeSystemd or ModeUser; ModeAuto by default.
	Mode Mode
	// HealthTimeout bounds the wait for the shim's healthcheck; 2m by default.
	HealthTimeout time.Duration
	// Logger receives progress; slog.Default() by default.
	Logger *slog.Logger
}

// HostInfo is what Deploy learned: host_info.json written by the shim, plus
// the platform and what the deploy did.
type HostInfo struct {
	hostinfo.Info
	OS          string // "linux"
	Arch        string // "amd64" or "arm64"
	Mode        Mode
	ShimHome    string // DSTACK_SHIM_HOME on the host
	ShimVersion string // from /api/healthcheck
	// Uploaded is true when the binary was uploaded (its hash differed).
	Uploaded bool
	// Restarted is true when this deploy (re)started the shim.
	Restarted bool
}

// deployer carries one Deploy or Undeploy.
type deployer struct {
	conn  *Conn
	opts  DeployOptions
	log   *slog.Logger
	facts hostFacts
}

// Deploy installs and starts the shim on the host behind conn, idempotently:
// it checks OS and architecture, authorizes keys, uploads the binary when
// its SHA-256 differs, writes shim.env, installs the systemd unit or starts
// the detached user-level shim (restarting it when something changed or it
// is not running), waits for the healthcheck through the SSH tunnel and
// reads host_info.json. Failures are *Error values (see KindOf).
func Deploy(ctx context.Context, conn *Conn, opts DeployOptions) (*HostInfo, error) {
	if opts.Binary == nil && opts.Binaries == nil {
		return nil, errors.New("deploy: no dstack binary given")
	}
	if opts.ShimPort == 0 {
		opts.ShimPort = DefaultShimPort
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 2 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &deployer{conn: conn, opts: opts, log: opts.Logger.With("component", "ssh-deploy", "target", conn.target.String())}
	if err := d.probe(ctx); err != nil {
		return nil, err
	}
	if err := d.chooseBinary(ctx); err != nil {
		return nil, err
	}
	opts = d.opts
	mode, err := chooseMode(opts.Mode, d.facts)
	if err != nil {
		return nil, err
	}
	lay := newLayout(mode, d.facts)
	d.log.Info("deploying shim", "mode", mode, "arch", opts.Binary.Arch(), "privileges", d.facts.Priv)
	if err := d.authorizeKeys(ctx); err != nil {
		return nil, fmt.Errorf("authorize keys: %w", err)
	}
	envFile, err := RenderEnvFile(shimEnv(lay, opts))
	if err != nil {
		return nil, fmt.Errorf("render shim.env: %w", err)
	}
	uploaded, err := d.installBinary(ctx, lay)
	if err != nil {
		return nil, fmt.Errorf("upload binary: %w", err)
	}
	envChanged, err := d.putFileIfChanged(ctx, lay, lay.EnvFile, 0o600, envFile)
	if err != nil {
		return nil, fmt.Errorf("write shim.env: %w", err)
	}
	changed := uploaded || envChanged
	var started bool
	if mode == ModeSystemd {
		started, err = d.startSystemd(ctx, lay, changed)
	} else {
		started, err = d.startUser(ctx, lay, changed)
	}
	if err != nil {
		return nil, fmt.Errorf("start shim: %w", err)
	}
	version, err := d.waitHealthy(ctx, lay)
	if err != nil {
		return nil, err
	}
	info, err := d.readHostInfo(ctx, lay)
	if err != nil {
		return nil, fmt.Errorf("read host info: %w", err)
	}
	d.log.Info("shim deployed", "uploaded", uploaded, "restarted", started, "cpus", info.CPUs, "gpus", info.GpuCount)
	return &HostInfo{Info: info, OS: "linux", Arch: opts.Binary.Arch(), Mode: mode, ShimHome: lay.Home,
		ShimVersion: version, Uploaded: uploaded, Restarted: started}, nil
}

// chooseBinary settles the executable for the probed host: the one given,
// or the one for the host's architecture, and checks the host can run it.
func (d *deployer) chooseBinary(ctx context.Context) error {
	if d.opts.Binary == nil {
		if err := checkPlatform(d.conn.target, d.facts, unameArch(d.facts.Machine)); err != nil {
			return err
		}
		b, err := d.opts.Binaries.Binary(ctx, unameArch(d.facts.Machine))
		if err != nil {
			return &Error{Kind: KindUnsupportedHost, Msg: fmt.Sprintf("host %s: %v", d.conn.target.Addr(), err), Err: err}
		}
		d.opts.Binary = b
	}
	return checkPlatform(d.conn.target, d.facts, d.opts.Binary.Arch())
}

// shimEnv returns shim.env's variables: upstream's defaults, the fleet's
// env, then the values Deploy relies on.
func shimEnv(lay layout, opts DeployOptions) map[string]string {
	env := map[string]string{
		"DSTACK_SHIM_LOG_LEVEL":   "4",
		"DSTACK_RUNNER_HTTP_PORT": "10999",
		"DSTACK_RUNNER_SSH_PORT":  "10022",
		"DSTACK_RUNNER_LOG_LEVEL": "4",
		"DSTACK_SERVICE_MODE":     "1",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	env["DSTACK_SHIM_HOME"] = lay.Home
	env["DSTACK_SHIM_HTTP_PORT"] = strconv.Itoa(opts.ShimPort)
	return env
}

// probe reads the host facts.
func (d *deployer) probe(ctx context.Context) error {
	out, err := d.sh(ctx, probeScript, false)
	if err != nil {
		return fmt.Errorf("probe host: %w", err)
	}
	if d.facts, err = parseFacts(out); err != nil {
		return &Error{Kind: KindUnsupportedHost, Err: err, Msg: fmt.Sprintf("probe host %s: %v", d.conn.target.Addr(), err)}
	}
	return nil
}

// waitHealthy polls GET /api/healthcheck through the tunnel.
func (d *deployer) waitHealthy(ctx context.Context, lay layout) (string, error) {
	base := fmt.Sprintf("http://127.0.0.1:%d", d.opts.ShimPort)
	shim := client.NewShimClient(d.conn.HTTPClient(d.opts.ShimPort), base)
	deadline := time.Now().Add(d.opts.HealthTimeout)
	var lastErr error
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := shim.Healthcheck(actx)
		cancel()
		switch {
		case err == nil && resp.Service == "dstack-shim":
			return resp.Version, nil
		case err == nil:
			err = fmt.Errorf("port %d answers as %q, not dstack-shim", d.opts.ShimPort, resp.Service)
		case d.conn.isClosed():
			return "", lostConnection(d.conn.target, "healthcheck", err)
		}
		lastErr = err
		if ctx.Err() != nil || time.Now().After(deadline) {
			return "", d.agentError(ctx, lay, lastErr)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// agentError reports a shim that did not answer, with its log's tail.
func (d *deployer) agentError(ctx context.Context, lay layout, cause error) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	source, script := lay.LogFile, "tail -n 20 "+shellQuote(lay.LogFile)+" 2>&1"
	if lay.Mode == ModeSystemd {
		source, script = "journalctl -u "+UnitName, "journalctl -u "+UnitName+" -n 20 --no-pager 2>&1"
	}
	out, _ := d.sh(lctx, script, lay.Mode == ModeSystemd)
	logTail := strings.TrimSpace(string(out))
	if logTail == "" {
		logTail = "(empty)"
	}
	return &Error{Kind: KindAgent, Err: cause, Msg: fmt.Sprintf(
		"dstack shim on %s did not answer GET /api/healthcheck on 127.0.0.1:%d within %s (last error: %v); last lines of %s:\n%s",
		d.conn.target.Addr(), d.opts.ShimPort, d.opts.HealthTimeout, cause, source, logTail)}
}

// readHostInfo reads host_info.json from the shim home.
func (d *deployer) readHostInfo(ctx context.Context, lay layout) (hostinfo.Info, error) {
	out, err := d.sh(ctx, "cat "+shellQuote(path.Join(lay.Home, hostinfo.FileName)), lay.Sudo)
	if err != nil {
		return hostinfo.Info{}, err
	}
	var info hostinfo.Info
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&info); err != nil {
		return hostinfo.Info{}, fmt.Errorf("decode %s: %w", hostinfo.FileName, err)
	}
	return info, nil
}
