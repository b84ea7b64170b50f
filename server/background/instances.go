package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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

// Name implements Pipeline.
func (p *Instances) Name() string { return services.PipelineInstances }

// Claim implements Pipeline.
func (p *Instances) Claim() db.Claim {
	return db.Claim{Table: "instances", Where: "deleted = FALSE AND status IN ('pending', 'idle', 'busy', 'terminating')",
		Limit: 32, TTL: 5 * time.Minute, ProcessedBefore: time.Now().UTC().Add(-5 * time.Second)}
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
	switch schemas.InstanceStatus(in.Status) {
	case schemas.InstancePending:
		return p.deploy(ctx, log, in, token, rh, target)
	case schemas.InstanceTerminating:
		return p.terminate(ctx, log, in, token, rh, target)
	default:
		return p.check(ctx, log, in, token, target)
	}
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

// finish writes columns and ends the lease.
func (p *Instances) finish(ctx context.Context, in *db.Instance, token string, columns ...string) error {
	_, err := db.UpdateLeased(ctx, p.Env.DB, in, token, time.Now().UTC(), columns...)
	return err
}

func (p *Instances) deploy(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) error {
	info, err := p.connectAndDeploy(ctx, in, rh, t)
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
			return p.finish(ctx, fail(in, err), token, "status", "status_message", "termination_reason", "termination_reason_message", "finished_at")
		}
		return p.finish(ctx, fail(in, err), token, "status_message")
	}
	if err := services.ApplyHostInfo(in, rh, info); err != nil {
		in.Status = string(schemas.InstanceTerminated)
		in.TerminationReason = ptr("error")
		in.TerminationReasonMessage = ptr(err.Error())
		in.FinishedAt = ptr(time.Now().UTC())
		return p.finish(ctx, fail(in, err), token, "status", "status_message", "termination_reason", "termination_reason_message", "finished_at")
	}
	log.Info("host ready", "cpus", info.CPUs, "gpus", info.GpuCount, "mode", info.Mode)
	return p.finish(ctx, in, token, "status", "status_message", "unreachable", "started_at", "offer",
		"job_provisioning_data", "host_info", "total_blocks")
}

func (p *Instances) connectAndDeploy(ctx context.Context, in *db.Instance, rh *services.RemoteHost, t sshfleet.Target) (*sshfleet.HostInfo, error) {
	if p.Binary == nil {
		return nil, errors.New("this server has no Linux dstack binary to deploy to hosts (run a Linux build of the server, or set DSTACK_SERVER_AGENT_BINARY)")
	}
	conn, err := p.Pool.Get(ctx, t)
	if err != nil {
		return nil, err
	}
	project, err := db.GetProjectByID(ctx, p.Env.DB, in.ProjectID)
	if err != nil {
		return nil, err
	}
	keys := []string{project.SSHPublicKey}
	if rh.PublicKey != "" {
		keys = append(keys, rh.PublicKey)
	}
	return sshfleet.Deploy(ctx, conn, sshfleet.DeployOptions{Binary: p.Binary, AuthorizedKeys: keys, Env: rh.Env, Logger: p.Log})
}

// check probes the shim of a ready host; a host that stops answering is
// marked unreachable, and comes back when it answers again.
func (p *Instances) check(ctx context.Context, log *slog.Logger, in *db.Instance, token string, t sshfleet.Target) error {
	err := p.healthcheck(ctx, t)
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

func (p *Instances) healthcheck(ctx context.Context, t sshfleet.Target) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := p.Pool.Get(ctx, t)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(10998))+"/api/healthcheck", nil)
	if err != nil {
		return err
	}
	res, err := conn.HTTPClient(10998).Do(req)
	if err != nil {
		p.Pool.Evict(t)
		return fmt.Errorf("the dstack shim on %s does not answer: %w", t.Host, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the dstack shim on %s answers %s to its healthcheck", t.Host, res.Status)
	}
	return nil
}

// terminate undeploys the host (best effort: an unreachable host is let go)
// and forgets its pinned key, so that re-adding the host pins anew.
func (p *Instances) terminate(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost, t sshfleet.Target) error {
	if conn, err := p.Pool.Get(ctx, t); err == nil {
		if err := sshfleet.Undeploy(ctx, conn); err != nil {
			log.Warn("could not clean the host up", "err", err)
		}
	} else {
		log.Warn("could not reach the host to clean it up", "err", err)
	}
	p.Pool.Evict(t)
	if err := p.HostKeys.Forget(ctx, rh.Hostname, rh.Port); err != nil {
		log.Warn("forget host key", "err", err)
	}
	in.Status = string(schemas.InstanceTerminated)
	in.FinishedAt = ptr(time.Now().UTC())
	in.Deleted = true
	log.Info("host removed from its fleet")
	return p.finish(ctx, in, token, "status", "finished_at", "deleted")
}

func ptr[T any](v T) *T { return &v }
