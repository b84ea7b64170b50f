package background

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// CloudFleets keeps each active cloud fleet at nodes.min: instances that
// ended (failed to launch, never became ready, were released) are replaced
// by new pending ones.
type CloudFleets struct {
	Env *services.Env
	Log *slog.Logger
}

// Name implements Pipeline.
func (p *CloudFleets) Name() string { return "cloud_fleets" }

// Claim implements Pipeline.
func (p *CloudFleets) Claim() db.Claim {
	return db.Claim{Table: "fleets", Where: "deleted = FALSE AND status = 'active' AND ssh_private_keys IS NULL", Limit: 16,
		TTL: leaseTTL, MinInterval: 10 * time.Second}
}

// Process implements Pipeline.
func (p *CloudFleets) Process(ctx context.Context, id, token string) error {
	now := time.Now().UTC()
	defer func() { _, _ = db.ReleaseRow(context.WithoutCancel(ctx), p.Env.DB, "fleets", id, token, now) }()
	var f db.Fleet
	if err := p.Env.DB.NewSelect().Model(&f).Where("id = ?", id).Scan(ctx); err != nil {
		return err
	}
	var spec schemas.FleetSpec
	if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil || spec.Configuration.SSHConfig != nil || spec.Configuration.Nodes == nil {
		return err
	}
	is, err := db.ListFleetInstances(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	active := 0
	for _, in := range is {
		if schemas.InstanceStatus(in.Status).Active() {
			active++
		}
	}
	if sched.NodesToAdd(spec.Configuration.Nodes.Min, active) == 0 {
		return nil
	}
	// Failed launches are not retried at once: the cloud is not asked for
	// the same offers every few seconds, and less often the more they fail.
	ended, err := endedInstances(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	if wait := sched.RelaunchWait(ended, now); wait > 0 {
		p.Log.Debug("fleet below nodes.min waits before a relaunch", "fleet", f.Name, "wait", wait)
		return nil
	}
	added, err := services.AddCloudInstances(ctx, p.Env.DB, p.Env, services.System, &f, spec.Configuration.Nodes.Min, nil, 0)
	if err == nil && len(added) > 0 {
		p.Log.Info("fleet below nodes.min: instances added", "fleet", f.Name, "added", len(added))
	}
	return err
}

// endedInstances are the latest ended instances of a fleet, deleted ones
// included (an instance that never became ready is deleted once its VM is
// terminated), for the relaunch back-off.
func endedInstances(ctx context.Context, idb bun.IDB, fleetID string) ([]sched.EndedInstance, error) {
	var is []db.Instance
	err := idb.NewSelect().Model(&is).Column("finished_at", "termination_reason").Where("fleet_id = ?", fleetID).
		Where("finished_at IS NOT NULL").OrderExpr("finished_at DESC").Limit(16).Scan(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sched.EndedInstance, len(is))
	for i, in := range is {
		r := ""
		if in.TerminationReason != nil {
			r = *in.TerminationReason
		}
		out[i] = sched.EndedInstance{FinishedAt: *in.FinishedAt, Failed: r != sched.ReasonIdleTimeout && r != sched.ReasonTerminatedByUser}
	}
	return out, nil
}
