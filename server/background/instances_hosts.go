package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func targetOf(rh *services.RemoteHost) sshfleet.Target {
	t := sshfleet.Target{Host: rh.Hostname, Port: rh.Port, User: rh.User, PrivateKey: []byte(rh.PrivateKey)}
	if j := rh.ProxyJump; j != nil {
		t.ProxyJump = &sshfleet.Target{Host: j.Hostname, Port: j.Port, User: j.User, PrivateKey: []byte(j.PrivateKey)}
	}
	return t
}

// withReserve shortens ctx's deadline by writeReserve, for the remote work
// of one item: what is left is for recording the outcome.
func withReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-writeReserve))
	}
	return context.WithCancel(ctx)
}

// deploy sets a pending host up: it deploys the agent and reads the host's
// facts into the instance.
func (p *Instances) deploy(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) sched.HostReport {
	dctx, cancel := withReserve(ctx)
	info, hostKey, err := p.connectAndDeploy(dctx, log, in, token, rh, t, true)
	cancel()
	var same *errSameMachine
	if errors.As(err, &same) {
		// Another live instance has the machine: this one gives up without
		// touching it (see instances_identity.go).
		log.Warn("host refused: the machine is in another fleet", "err", err)
		return sched.HostReport{BadHost: err.Error()}
	}
	if err != nil {
		log.Warn("deploy failed", "err", err)
		return sched.HostReport{DeployErr: err.Error()}
	}
	if err := services.ApplyHostInfo(in, rh, info, hostKey); err != nil {
		return sched.HostReport{BadHost: err.Error()}
	}
	log.Info("host deployed", "cpus", info.CPUs, "gpus", info.GpuCount, "mode", info.Mode)
	return sched.HostReport{}
}

// connectAndDeploy connects, identifies the machine by its host key and
// deploys the shim; it returns the host's facts and its pinned host key.
// strict (a new host) refuses a machine another live instance has
// (*errSameMachine); otherwise (an instance already set up) a conflict is
// only logged.
func (p *Instances) connectAndDeploy(ctx context.Context, log *slog.Logger, in *db.Instance, token string,
	rh *services.RemoteHost, t sshfleet.Target, strict bool) (*sshfleet.HostInfo, string, error) {
	if p.Binaries == nil {
		return nil, "", errors.New("this server has no Linux dstack binary to deploy to hosts (run a Linux build of the server, or set DSTACK_SERVER_AGENT_BINARY)")
	}
	conn, err := p.Pool.Get(ctx, t)
	if err != nil {
		return nil, "", err
	}
	hostKey, err := p.claimHostKey(ctx, in, token, t)
	if err != nil {
		var same *errSameMachine
		if strict || !errors.As(err, &same) {
			return nil, "", err
		}
		log.Warn("another live instance has this machine; delete one of them", "err", err)
	}
	project, err := db.GetProjectByID(ctx, p.Env.DB, in.ProjectID)
	if err != nil {
		return nil, "", err
	}
	keys := []string{project.SSHPublicKey}
	if rh.PublicKey != "" {
		keys = append(keys, rh.PublicKey)
	}
	info, err := sshfleet.Deploy(ctx, conn, sshfleet.DeployOptions{Binaries: p.Binaries, AuthorizedKeys: keys, Env: rh.Env,
		HealthTimeout: deployHealthTimeout, Logger: p.Log})
	return info, hostKey, err
}

// check probes the shim of a ready host. An idle host whose SSH works but
// whose shim is gone (a reboot without systemd) gets the shim started
// again: deploying is idempotent.
func (p *Instances) check(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) sched.HostReport {
	cctx, cancel := withReserve(ctx)
	defer cancel()
	err := p.healthcheck(cctx, t)
	if errors.Is(err, errShimDown) && in.Status == string(schemas.InstanceIdle) && p.Binaries != nil {
		log.Warn("the shim is not running; starting it again", "err", err)
		if _, _, derr := p.connectAndDeploy(cctx, log, in, token, rh, t, false); derr != nil {
			err = fmt.Errorf("%w; starting it again failed: %v", err, derr)
		} else {
			log.Info("shim started again")
			err = nil
		}
	}
	if err != nil {
		return sched.HostReport{CheckErr: err.Error()}
	}
	return sched.HostReport{}
}

// errShimDown marks a host that SSH reaches while nothing listens on the
// shim's port.
var errShimDown = errors.New("the dstack shim is not running")

// healthcheck asks the shim for its health through the pooled connection.
// Connection failures are the pool's classified errors (unreachable, host
// key changed, authentication…); a connection that stalls is dropped, so
// the next check reconnects.
func (p *Instances) healthcheck(ctx context.Context, t sshfleet.Target) error {
	ctx, cancel := context.WithTimeout(ctx, healthCheckTimeout)
	defer cancel()
	err := p.probeShim(ctx, t)
	if errors.Is(err, errConnectionLost) && ctx.Err() == nil {
		// A pooled connection found dead says little about the host: try
		// a fresh one, whose failure says why the host cannot be reached.
		err = p.probeShim(ctx, t)
	}
	return err
}

// errConnectionLost marks a probe that failed because its pooled SSH
// connection died under it.
var errConnectionLost = errors.New("the SSH connection was lost")

// probeShim makes one healthcheck request to the shim.
func (p *Instances) probeShim(ctx context.Context, t sshfleet.Target) error {
	conn, err := p.Pool.Get(ctx, t)
	if err != nil {
		if ctx.Err() != nil && sshfleet.KindOf(err) == "" {
			p.Pool.Evict(t)
			return fmt.Errorf("cannot reach %s: no working SSH connection within %s (host down or cut off?)", t.Addr(), healthCheckTimeout)
		}
		return err
	}
	rctx, rcancel := context.WithTimeout(ctx, healthProbeTimeout)
	defer rcancel()
	port := sshfleet.DefaultShimPort
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/api/healthcheck", nil)
	if err != nil {
		return err
	}
	res, err := conn.HTTPClient(port).Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		switch {
		case errors.Is(err, sshfleet.ErrRemoteRefused):
			return fmt.Errorf("%w on %s: SSH works, but nothing listens on 127.0.0.1:%d there", errShimDown, t.Addr(), port)
		case rctx.Err() != nil:
			p.Pool.Evict(t)
			return fmt.Errorf("cannot reach %s: the SSH connection stopped answering (no healthcheck reply from the dstack shim within %s; host down or cut off?)",
				t.Addr(), healthProbeTimeout)
		}
		p.Pool.Evict(t)
		if sshfleet.KindOf(err) == sshfleet.KindConnection {
			return fmt.Errorf("cannot reach the dstack shim on %s: %w (%w)", t.Addr(), err, errConnectionLost)
		}
		return fmt.Errorf("cannot reach the dstack shim on %s: %w", t.Addr(), err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the dstack shim on %s answers %s to its healthcheck", t.Addr(), res.Status)
	}
	return nil
}

// terminate undeploys the host (best effort: an unreachable host is let
// go); Process then forgets its pinned key, so that re-adding the host pins
// anew.
func (p *Instances) terminate(ctx context.Context, log *slog.Logger, t sshfleet.Target) {
	uctx, cancel := withReserve(ctx)
	defer cancel()
	uctx, cancel2 := context.WithTimeout(uctx, undeployTimeout)
	defer cancel2()
	if conn, err := p.Pool.Get(uctx, t); err == nil {
		if err := sshfleet.Undeploy(uctx, conn); err != nil {
			log.Warn("could not clean the host up", "err", err)
		}
	} else {
		log.Warn("could not reach the host to clean it up", "err", err)
	}
	p.Pool.Evict(t)
}
