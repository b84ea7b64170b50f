package background

import (
	"context"
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Fleets finishes fleet deletions: a terminating fleet whose instances are
// all terminated (sched.FleetDone) becomes terminated and disappears from
// listings.
type Fleets struct {
	Env *services.Env
	Log *slog.Logger
}

// Name implements Pipeline.
func (p *Fleets) Name() string { return services.PipelineFleets }

// Claim implements Pipeline.
func (p *Fleets) Claim() db.Claim {
	return db.Claim{Table: "fleets", Where: "deleted = FALSE AND status = 'terminating'", Limit: 16,
		TTL: leaseTTL, MinInterval: time.Second}
}

// Process implements Pipeline.
func (p *Fleets) Process(ctx context.Context, id, token string) error {
	var f db.Fleet
	if err := p.Env.DB.NewSelect().Model(&f).Where("id = ?", id).Scan(ctx); err != nil {
		return err
	}
	is, err := db.ListFleetInstances(ctx, p.Env.DB, id)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	statuses := make([]schemas.InstanceStatus, len(is))
	for i := range is {
		statuses[i] = schemas.InstanceStatus(is[i].Status)
	}
	if !sched.FleetDone(statuses) {
		_, err := db.ReleaseRow(ctx, p.Env.DB, "fleets", id, token, now)
		return err
	}
	if err := services.SetFleetStatus(&f, schemas.FleetTerminated); err != nil {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "fleets", id, token, now)
		return err
	}
	f.Deleted = true
	f.DeletedAt = &now
	p.Log.Info("fleet deleted", "fleet", f.Name)
	_, err = db.UpdateLeased(ctx, p.Env.DB, &f, token, now, "status", "deleted", "deleted_at")
	return err
}
