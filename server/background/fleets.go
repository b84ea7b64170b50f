package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/backends"
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
	if done, err := p.deletePlacementGroups(ctx, &f); err != nil || !done {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "fleets", id, token, now)
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

// deletePlacementGroups removes a cluster fleet's placement groups from the
// regions where it had instances. done is false while a group is still in
// use (its instances are shutting down): the fleet is deleted on a later
// pass. A group that cannot be deleted for another reason is logged and
// left behind rather than keep the fleet forever.
func (p *Fleets) deletePlacementGroups(ctx context.Context, f *db.Fleet) (done bool, err error) {
	var spec schemas.FleetSpec
	if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil {
		return false, fmt.Errorf("decode the spec of fleet %s: %w", f.Name, err)
	}
	if pl := spec.Configuration.Placement; pl == nil || *pl != schemas.FleetPlacementCluster || spec.Configuration.SSHConfig != nil {
		return true, nil // only cloud cluster fleets have placement groups
	}
	regions, err := db.FleetRegions(ctx, p.Env.DB, f.ID)
	if err != nil {
		return false, err
	}
	name := sched.PlacementGroupName(f.Name, f.ID)
	for _, r := range regions {
		pc, err := (services.Backends{Env: p.Env}).Compute(ctx, f.ProjectID, r.Backend)
		if err != nil {
			p.Log.Warn("placement group left behind: its backend is gone", "fleet", f.Name, "group", name, "region", r.Region, "err", err)
			continue
		}
		g, ok := pc.(backends.PlacementGrouper)
		if !ok {
			continue
		}
		switch err := g.DeletePlacementGroup(ctx, name, r.Region); {
		case errors.Is(err, backends.ErrPlacementGroupInUse):
			return false, nil
		case err != nil:
			p.Log.Warn("placement group left behind", "fleet", f.Name, "group", name, "region", r.Region, "err", err)
		}
	}
	return true, nil
}
