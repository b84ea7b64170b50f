package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// InsertFleet stores a new fleet.
func InsertFleet(ctx context.Context, idb bun.IDB, f *Fleet) error {
	return insertRow(ctx, idb, f)
}

// UpdateFleet writes the named columns of f.
func UpdateFleet(ctx context.Context, idb bun.IDB, f *Fleet, columns ...string) error {
	return updateRow(ctx, idb, f, columns...)
}

// GetFleetByName finds a project's live fleet by name.
func GetFleetByName(ctx context.Context, idb bun.IDB, projectID, name string) (*Fleet, error) {
	f := new(Fleet)
	err := idb.NewSelect().Model(f).Where("project_id = ?", projectID).Where("name = ?", name).
		Where("deleted = ?", false).Scan(ctx)
	return f, mapErr(err)
}

// GetFleetByID finds a project's fleet by id, deleted or not.
func GetFleetByID(ctx context.Context, idb bun.IDB, projectID, id string) (*Fleet, error) {
	f := new(Fleet)
	err := idb.NewSelect().Model(f).Where("project_id = ?", projectID).Where("id = ?", id).Scan(ctx)
	return f, mapErr(err)
}

// FleetFilter narrows ListFleets.
type FleetFilter struct {
	ProjectIDs []string
	OnlyActive bool
	Page       Page
}

// ListFleets returns live fleets of the given projects, newest first.
func ListFleets(ctx context.Context, idb bun.IDB, f FleetFilter) ([]Fleet, error) {
	var fs []Fleet
	q := idb.NewSelect().Model(&fs).Where("deleted = ?", false)
	if f.ProjectIDs != nil {
		if len(f.ProjectIDs) == 0 {
			return nil, nil
		}
		q = q.Where("project_id IN (?)", bun.In(f.ProjectIDs))
	}
	if f.OnlyActive {
		q = q.Where("status NOT IN (?)", bun.In([]string{"terminating", "terminated", "failed"}))
	}
	err := f.Page.apply(q, "created_at", "id").Scan(ctx)
	return fs, mapErr(err)
}

// InsertInstances stores new instances.
func InsertInstances(ctx context.Context, idb bun.IDB, is []Instance) error {
	if len(is) == 0 {
		return nil
	}
	var srcs []eventSource
	for i := range is {
		srcs = append(srcs, sources(&is[i])...)
	}
	_, err := writeWithEvents(ctx, idb, srcs, func(idb bun.IDB) (bool, error) {
		_, err := idb.NewInsert().Model(&is).Exec(ctx)
		return err == nil, mapErr(err)
	})
	return err
}

// UpdateInstance writes the named columns of in.
func UpdateInstance(ctx context.Context, idb bun.IDB, in *Instance, columns ...string) error {
	return updateRow(ctx, idb, in, columns...)
}

// GetInstance finds an instance by id.
func GetInstance(ctx context.Context, idb bun.IDB, id string) (*Instance, error) {
	in := new(Instance)
	err := idb.NewSelect().Model(in).Where("id = ?", id).Scan(ctx)
	return in, mapErr(err)
}

// ListFleetInstances returns the live instances of fleets, by fleet and number.
func ListFleetInstances(ctx context.Context, idb bun.IDB, fleetIDs ...string) ([]Instance, error) {
	if len(fleetIDs) == 0 {
		return nil, nil
	}
	var is []Instance
	err := idb.NewSelect().Model(&is).Where("fleet_id IN (?)", bun.In(fleetIDs)).Where("deleted = ?", false).
		OrderExpr("fleet_id, instance_num").Scan(ctx)
	return is, mapErr(err)
}

// ListSchedulingInstances is ListFleetInstances with only the columns
// placement reads (no host info, connection info or requirements): plans
// and placement list every live instance of a project, on each submit and
// each placement pass.
func ListSchedulingInstances(ctx context.Context, idb bun.IDB, fleetIDs ...string) ([]Instance, error) {
	if len(fleetIDs) == 0 {
		return nil, nil
	}
	var is []Instance
	err := idb.NewSelect().Model(&is).Column("id", "fleet_id", "name", "instance_num", "status", "unreachable", "health",
		"offer", "job_provisioning_data", "total_blocks", "busy_blocks").
		Where("fleet_id IN (?)", bun.In(fleetIDs)).Where("deleted = ?", false).
		OrderExpr("fleet_id, instance_num").Scan(ctx)
	return is, mapErr(err)
}

// BackendRegion is a backend and one of its regions.
type BackendRegion struct {
	Backend string `bun:"backend"`
	Region  string `bun:"region"`
}

// FleetRegions are the backends and regions where a fleet ever had
// instances, deleted ones included.
func FleetRegions(ctx context.Context, idb bun.IDB, fleetID string) ([]BackendRegion, error) {
	var out []BackendRegion
	err := idb.NewSelect().TableExpr("instances").ColumnExpr("DISTINCT backend, region").
		Where("fleet_id = ?", fleetID).Where("backend IS NOT NULL").Where("region IS NOT NULL").
		OrderExpr("backend, region").Scan(ctx, &out)
	return out, mapErr(err)
}

// InstanceFilter narrows ListInstances.
type InstanceFilter struct {
	ProjectIDs []string
	FleetIDs   []string
	OnlyActive bool
	Page       Page
}

// ListInstances returns live instances, newest first.
func ListInstances(ctx context.Context, idb bun.IDB, f InstanceFilter) ([]Instance, error) {
	var is []Instance
	q := idb.NewSelect().Model(&is).Where("deleted = ?", false)
	if f.ProjectIDs != nil {
		if len(f.ProjectIDs) == 0 {
			return nil, nil
		}
		q = q.Where("project_id IN (?)", bun.In(f.ProjectIDs))
	}
	if len(f.FleetIDs) > 0 {
		q = q.Where("fleet_id IN (?)", bun.In(f.FleetIDs))
	}
	if f.OnlyActive {
		q = q.Where("status NOT IN (?)", bun.In([]string{"terminating", "terminated"}))
	}
	err := f.Page.apply(q, "created_at", "id").Scan(ctx)
	return is, mapErr(err)
}

// TerminateIdleInstance moves a live instance that runs no job to
// terminating, in one statement, so that a job placed at the same moment
// (ReserveBlocks) either lands first and keeps the instance, or finds it
// terminating. It reports whether the instance was idle.
// The events pending on in are stored when it applies.
func TerminateIdleInstance(ctx context.Context, idb bun.IDB, in *Instance, reason string, due time.Time) (bool, error) {
	return writeWithEvents(ctx, idb, sources(in), func(idb bun.IDB) (bool, error) {
		res, err := idb.NewUpdate().Model((*Instance)(nil)).
			Set("status = 'terminating'").Set("termination_reason = ?", reason).Set("last_processed_at = ?", due).
			Where("id = ?", in.ID).Where("deleted = ?", false).Where("busy_blocks = 0").
			Where("status NOT IN ('terminating', 'terminated')").Exec(ctx)
		if err != nil {
			return false, mapErr(err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
}

// SetInstanceHost records the identity of an instance's host (address or
// host key column, by name) while the lease token holds; ErrConflict when
// a live instance has it already, ErrNotFound when the lease is gone.
func SetInstanceHost(ctx context.Context, idb bun.IDB, id, token, column, value string) error {
	res, err := idb.NewUpdate().Model((*Instance)(nil)).Set("? = ?", bun.Ident(column), value).
		Where("id = ?", id).Where("lock_token = ?", token).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// LiveInstanceWithHost finds the live instance (not deleted, not
// terminated) whose host has this identity (host_address or host_key).
func LiveInstanceWithHost(ctx context.Context, idb bun.IDB, column, value string) (*Instance, error) {
	in := new(Instance)
	err := idb.NewSelect().Model(in).Where("? = ?", bun.Ident(column), value).Where("deleted = ?", false).
		Where("status != 'terminated'").Limit(1).Scan(ctx)
	return in, mapErr(err)
}

// CountActiveJobsOnFleets counts unfinished jobs placed on the fleets.
func CountActiveJobsOnFleets(ctx context.Context, idb bun.IDB, fleetIDs []string) (int, error) {
	if len(fleetIDs) == 0 {
		return 0, nil
	}
	n, err := idb.NewSelect().Model((*Job)(nil)).Where("fleet_id IN (?)", bun.In(fleetIDs)).
		Where("status NOT IN (?)", bun.In([]string{"terminated", "aborted", "failed", "done"})).Count(ctx)
	return int(n), mapErr(err)
}

// GetInstanceByAgentToken finds the instance whose agent token hashes to hash.
func GetInstanceByAgentToken(ctx context.Context, idb bun.IDB, hash string) (*Instance, error) {
	in := new(Instance)
	err := idb.NewSelect().Model(in).Where("agent_token_hash = ?", hash).Where("deleted = ?", false).Limit(1).Scan(ctx)
	return in, mapErr(err)
}
