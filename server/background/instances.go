package background

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Instances deploys SSH fleet hosts, checks their health and tears them
// down; sched.DecideHost turns each pass into the instance's next state.
// See README.md.
type Instances struct {
	Env      *services.Env
	Pool     *sshfleet.Pool
	HostKeys HostKeys
	// Binaries gives the dstack executable deployed to a host, by its
	// architecture.
	Binaries sshfleet.BinarySource
	Log      *slog.Logger
	// DeployTimeout is how long a host may fail to deploy before it is
	// given up.
	DeployTimeout time.Duration
	// Cloud configures cloud instances (instances_cloud.go).
	Cloud CloudOptions
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
	return db.Claim{Table: "instances", Where: "deleted = FALSE AND status IN ('pending', 'provisioning', 'idle', 'busy', 'terminating')",
		Limit: 32, TTL: leaseTTL, MinInterval: 5 * time.Second}
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
	if services.IsCloud(in) {
		return p.processCloud(ctx, in, token)
	}
	var rep sched.HostReport
	log := p.Log.With("instance", in.Name)
	rh, err := (services.Fleets{Env: p.Env}).RemoteHostOf(in)
	if err != nil {
		rep.Unusable = err.Error()
	} else {
		log = log.With("host", rh.Hostname)
		p.fillHostAddress(ctx, log, in, token, rh)
		switch target := targetOf(rh); schemas.InstanceStatus(in.Status) {
		case schemas.InstancePending:
			rep = p.deploy(ctx, log, in, token, rh, target)
		case schemas.InstanceTerminating:
			p.terminate(ctx, log, target)
		default:
			rep = p.check(ctx, log, in, token, rh, target)
		}
	}
	h := sched.Host{Status: schemas.InstanceStatus(in.Status), CreatedAt: in.CreatedAt, DeployTimeout: p.deployTimeout()}
	if err := p.apply(ctx, log, in, token, sched.DecideHost(h, rep, time.Now().UTC())); err != nil {
		return err
	}
	if rh != nil && schemas.InstanceStatus(in.Status) == schemas.InstanceTerminated {
		// A host given up or removed lets go of its pinned key (a host
		// reinstalled meanwhile can be added again), unless another live
		// instance reaches the same address.
		p.forgetPin(ctx, log, in, rh)
	}
	return nil
}

func (p *Instances) deployTimeout() time.Duration {
	if p.DeployTimeout == 0 {
		return 20 * time.Minute
	}
	return p.DeployTimeout
}

// apply writes the decision and ends the lease. The outcome of a deploy is
// written only while the instance is still pending (see finishIf).
func (p *Instances) apply(ctx context.Context, log *slog.Logger, in *db.Instance, token string, d sched.HostDecision) error {
	from := schemas.InstanceStatus(in.Status)
	if d.Status != "" {
		if err := p.setStatus(ctx, in, token, d.Status); err != nil {
			return err
		}
	}
	in.StatusMessage = nil
	if d.StatusMessage != "" {
		in.StatusMessage = ptr(d.StatusMessage)
	}
	to := schemas.InstanceStatus(in.Status)
	switch {
	case from == schemas.InstancePending && to == schemas.InstanceIdle:
		log.Info("host ready")
		in.Unreachable = false
		return p.finishIf(ctx, in, token, from, "status", "status_message", "unreachable", "started_at", "offer",
			"job_provisioning_data", "host_info", "total_blocks")
	case from == schemas.InstancePending && to == schemas.InstanceTerminated:
		log.Warn("host given up", "reason", d.TerminationReason, "err", d.TerminationMessage)
		in.TerminationReason, in.TerminationReasonMessage = ptr(d.TerminationReason), ptr(d.TerminationMessage)
		in.FinishedAt = ptr(time.Now().UTC())
		return p.finishIf(ctx, in, token, from, "status", "status_message", "termination_reason", "termination_reason_message",
			"finished_at")
	case from == schemas.InstanceTerminating && to == schemas.InstanceTerminated:
		in.FinishedAt = ptr(time.Now().UTC())
		in.Deleted = d.Deleted
		log.Info("host removed from its fleet")
		if err := p.finish(ctx, in, token, "status", "finished_at", "deleted"); err != nil {
			return err
		}
		p.Env.WakeUp(services.PipelineFleets) // a deleted fleet may be done now
		return nil
	case from == schemas.InstancePending || from == schemas.InstanceTerminating:
		return p.finish(ctx, in, token, "status_message")
	}
	if d.Unreachable != in.Unreachable {
		if d.Unreachable {
			log.Warn("host unreachable", "err", d.StatusMessage)
		} else {
			log.Info("host reachable again")
		}
	}
	in.Unreachable = d.Unreachable
	return p.finish(ctx, in, token, "unreachable", "status_message")
}

// setStatus moves the instance to status to (services.SetInstanceStatus).
// A forbidden transition writes nothing: the lease ends and the error is
// returned.
func (p *Instances) setStatus(ctx context.Context, in *db.Instance, token string, to schemas.InstanceStatus) error {
	if err := services.SetInstanceStatus(in, to); err != nil {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "instances", in.ID, token, time.Now().UTC())
		return err
	}
	return nil
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
	ok, err := db.UpdateLeasedIfStatus(ctx, p.Env.DB, in, token, string(want), now, columns...)
	if err != nil || ok {
		return err
	}
	p.Log.Info("instance changed while processed; outcome dropped", "instance", in.Name, "outcome", in.Status)
	// Due at once: the new status (terminating) is work waiting.
	_, err = db.ReleaseRow(ctx, p.Env.DB, "instances", in.ID, token, now.Add(-time.Hour))
	return err
}
