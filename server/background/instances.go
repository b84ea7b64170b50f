package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Instances deploys SSH fleet hosts, checks their health and tears them
// down:
//
//	pending ──deploy──▶ idle ⇄ busy      (health checked every few seconds)
//	   └─(20 min of failures)─▶ terminated
//	terminating ──undeploy (best effort)──▶ terminated
type Instances struct {
	Env      *services.Env
	Pool     *sshfleet.Pool
	HostKeys HostKeys
	// Binary is the dstack executable deployed to hosts.
	Binary *sshfleet.Binary
	Log    *slog.Logger
	// DeployTimeout is how long a host may fail to deploy before it is
	// given up.
	DeployTimeout time.Duration
}

// Timing of the instance work. The pipeline visits each instance every 5 s
// or so (Claim); a check that fails marks the instance unreachable, so a
// host cut off is reported within an interval plus healthProbeTimeout.
const (
	// healthProbeTimeout bounds the shim's healthcheck on an established
	// connection: a few round trips through the tunnel, so a link that
	// stalls longer is taken for down.
	healthProbeTimeout = 8 * time.Second
	// healthCheckTimeout bounds a whole check, reconnecting included (the
	// pool's dial timeout is 10 s).
	healthCheckTimeout = 20 * time.Second
	// deployHealthTimeout is how long a freshly started shim may take to
	// answer; an attempt that fails is retried on the next visit.
	deployHealthTimeout = 30 * time.Second
	// undeployTimeout bounds the cleanup of a host leaving its fleet; an
	// unresponsive host is let go after it.
	undeployTimeout = 30 * time.Second
	// writeReserve is kept from the item's deadline for writing the
	// outcome, so that a step running out of time is still recorded.
	writeReserve = 10 * time.Second
)

// Name implements Pipeline.
func (p *Instances) Name() string { return services.PipelineInstances }

// Claim implements Pipeline.
func (p *Instances) Claim() db.Claim {
	return db.Claim{Table: "instances", Where: "deleted = FALSE AND status IN ('pending', 'idle', 'busy', 'terminating')",
		Limit: 32, TTL: 5 * time.Minute, ProcessedBefore: time.Now().UTC().Add(-5 * time.Second)}
}

// ProcessBatch implements BatchPipeline: it processes every claimed row at
// once. Deploys and checks wait on the network, not the CPU; run in the
// supervisor's waves of Workers rows, a 10-host fleet deployed in two
// rounds, and a few hosts timing out held the health checks of all others
// back by one dial timeout per wave.
func (p *Instances) ProcessBatch(ctx context.Context, ids []string, token string) error {
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					p.Log.Error("processing panicked", "id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				}
			}()
			if err := p.Process(ctx, id, token); err != nil && ctx.Err() == nil {
				p.Log.Error("process", "id", id, "err", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// Process implements Pipeline.
func (p *Instances) Process(ctx context.Context, id, token string) error {
	in, err := db.GetInstance(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	rh, err := (services.Fleets{Env: p.Env}).RemoteHostOf(in)
	if err != nil {
		return p.finish(ctx, fail(in, err), token, "status_message")
	}
	target := targetOf(rh)
	log := p.Log.With("instance", in.Name, "host", rh.Hostname)
	p.fillHostAddress(ctx, log, in, token, rh)
	switch schemas.InstanceStatus(in.Status) {
	case schemas.InstancePending:
		return p.deploy(ctx, log, in, token, rh, target)
	case schemas.InstanceTerminating:
		return p.terminate(ctx, log, in, token, rh, target)
	default:
		return p.check(ctx, log, in, token, rh, target)
	}
}

// withReserve shortens ctx's deadline by writeReserve, for the remote work
// of one item: what is left is for recording the outcome.
func withReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-writeReserve))
	}
	return context.WithCancel(ctx)
}

func targetOf(rh *services.RemoteHost) sshfleet.Target {
	t := sshfleet.Target{Host: rh.Hostname, Port: rh.Port, User: rh.User, PrivateKey: []byte(rh.PrivateKey)}
	if j := rh.ProxyJump; j != nil {
		t.ProxyJump = &sshfleet.Target{Host: j.Hostname, Port: j.Port, User: j.User, PrivateKey: []byte(j.PrivateKey)}
	}
	return t
}

func fail(in *db.Instance, err error) *db.Instance {
	msg := err.Error()
	in.StatusMessage = &msg
	return in
}

// finish writes columns and ends the lease. It writes even when ctx has
// just ended (a step that ran out of time is still recorded).
func (p *Instances) finish(ctx context.Context, in *db.Instance, token string, columns ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeReserve)
	defer cancel()
	_, err := db.UpdateLeased(ctx, p.Env.DB, in, token, time.Now().UTC(), columns...)
	return err
}

// finishIf is finish applied only while the row still has status want: the
// API changes statuses without the lease (fleets/delete turns a host being
// deployed to terminating), and the pipeline must not overwrite that. When
// the status changed, only the lease ends, and the row is due at once for
// its new status.
func (p *Instances) finishIf(ctx context.Context, in *db.Instance, token string, want schemas.InstanceStatus, columns ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeReserve)
	defer cancel()
	now := time.Now().UTC()
	res, err := p.Env.DB.NewUpdate().Model(in).Column(columns...).WherePK().
		Where("lock_token = ?", token).Where("status = ?", string(want)).
		Set("lock_owner = NULL").Set("lock_token = NULL").Set("lock_expires_at = NULL").
		Set("last_processed_at = ?", now).Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	p.Log.Info("instance changed while processed; outcome dropped", "instance", in.Name, "outcome", in.Status)
	// Due at once: the new status (terminating) is work waiting.
	_, err = db.ReleaseRow(ctx, p.Env.DB, "instances", in.ID, token, now.Add(-time.Hour))
	return err
}

func (p *Instances) deploy(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) error {
	dctx, cancel := withReserve(ctx)
	info, hostKey, err := p.connectAndDeploy(dctx, log, in, token, rh, t, true)
	cancel()
	var same *errSameMachine
	if errors.As(err, &same) {
		return p.refuseSameMachine(ctx, log, in, token, rh, err)
	}
	if err != nil {
		log.Warn("deploy failed", "err", err)
		timeout := p.DeployTimeout
		if timeout == 0 {
			timeout = 20 * time.Minute
		}
		if time.Since(in.CreatedAt) > timeout {
			in.Status = string(schemas.InstanceTerminated)
			in.TerminationReason = ptr("provisioning_timeout")
			in.TerminationReasonMessage = ptr("the host could not be set up within " + timeout.String() + ": " + err.Error())
			in.FinishedAt = ptr(time.Now().UTC())
			return p.giveUp(ctx, log, in, token, rh, err)
		}
		return p.finish(ctx, fail(in, err), token, "status_message")
	}
	if err := services.ApplyHostInfo(in, rh, info, hostKey); err != nil {
		in.Status = string(schemas.InstanceTerminated)
		in.TerminationReason = ptr("error")
		in.TerminationReasonMessage = ptr(err.Error())
		in.FinishedAt = ptr(time.Now().UTC())
		return p.giveUp(ctx, log, in, token, rh, err)
	}
	log.Info("host ready", "cpus", info.CPUs, "gpus", info.GpuCount, "mode", info.Mode)
	return p.finishIf(ctx, in, token, schemas.InstancePending, "status", "status_message", "unreachable", "started_at", "offer",
		"job_provisioning_data", "host_info", "total_blocks")
}

// giveUp records a host that could not be set up as terminated, and lets
// go of its pinned key (a host reinstalled meanwhile can be added again).
func (p *Instances) giveUp(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, err error) error {
	if err := p.finishIf(ctx, fail(in, err), token, schemas.InstancePending,
		"status", "status_message", "termination_reason", "termination_reason_message", "finished_at"); err != nil {
		return err
	}
	p.forgetPin(ctx, log, in, rh)
	return nil
}

// connectAndDeploy connects, identifies the machine by its host key and
// deploys the shim. strict (a new host) refuses a machine another live
// instance has; otherwise (an existing instance) a conflict is only logged.
func (p *Instances) connectAndDeploy(ctx context.Context, log *slog.Logger, in *db.Instance, token string,
	rh *services.RemoteHost, t sshfleet.Target, strict bool) (*sshfleet.HostInfo, string, error) {
	if p.Binary == nil {
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
	info, err := sshfleet.Deploy(ctx, conn, sshfleet.DeployOptions{Binary: p.Binary, AuthorizedKeys: keys, Env: rh.Env,
		HealthTimeout: deployHealthTimeout, Logger: p.Log})
	return info, hostKey, err
}

// check probes the shim of a ready host; a host that stops answering is
// marked unreachable, and comes back when it answers again. An idle host
// whose SSH works but whose shim is gone (a reboot without systemd) gets
// the shim started again: deploying is idempotent.
func (p *Instances) check(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) error {
	cctx, cancel := withReserve(ctx)
	defer cancel()
	err := p.healthcheck(cctx, t)
	if errors.Is(err, errShimDown) && in.Status == string(schemas.InstanceIdle) && p.Binary != nil {
		log.Warn("the shim is not running; starting it again", "err", err)
		if _, _, derr := p.connectAndDeploy(cctx, log, in, token, rh, t, false); derr != nil {
			err = fmt.Errorf("%w; starting it again failed: %v", err, derr)
		} else {
			log.Info("shim started again")
			err = nil
		}
	}
	if err != nil && !in.Unreachable {
		log.Warn("host unreachable", "err", err)
	} else if err == nil && in.Unreachable {
		log.Info("host reachable again")
	}
	in.Unreachable = err != nil
	in.StatusMessage = nil
	if err != nil {
		fail(in, err)
	}
	return p.finish(ctx, in, token, "unreachable", "status_message")
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
		return fmt.Errorf("cannot reach the dstack shim on %s: %w", t.Addr(), err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the dstack shim on %s answers %s to its healthcheck", t.Addr(), res.Status)
	}
	return nil
}

// terminate undeploys the host (best effort: an unreachable host is let go)
// and forgets its pinned key, so that re-adding the host pins anew.
func (p *Instances) terminate(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) error {
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
	p.forgetPin(ctx, log, in, rh)
	in.Status = string(schemas.InstanceTerminated)
	in.FinishedAt = ptr(time.Now().UTC())
	in.Deleted = true
	log.Info("host removed from its fleet")
	if err := p.finish(ctx, in, token, "status", "finished_at", "deleted"); err != nil {
		return err
	}
	p.Env.WakeUp(services.PipelineFleets) // a deleted fleet may be done now
	return nil
}

func ptr[T any](v T) *T { return &v }
