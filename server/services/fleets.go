package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Pipeline names the services wake.
const (
	PipelineInstances = "instances"
	PipelineFleets    = "fleets"
	PipelineJobs      = "jobs_submitted"
	PipelineRunning   = "jobs_running"
	PipelineTerminate = "jobs_terminating"
	PipelineRuns      = "runs"
	PipelineProbes    = "probes"
)

// Fleets manages fleets and their instances.
type Fleets struct{ *Env }

// validateSpec checks a fleet spec as the server must before planning.
func validateSpec(spec *schemas.FleetSpec) ([]RemoteHost, error) {
	c := spec.Configuration
	if err := c.Validate(); err != nil {
		return nil, Invalid("Invalid fleet configuration: %v", err)
	}
	if c.SSHConfig == nil {
		return nil, nil // a cloud fleet: its backends are checked by the caller
	}
	if err := c.ValidateSSHCredentials(); err != nil {
		return nil, Invalid("Invalid fleet configuration: %v", err)
	}
	hosts, err := resolveHosts(c)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h.Address()] {
			return nil, InvalidField("ssh_config.hosts", "Host %s is listed twice", h.hostKey())
		}
		seen[h.Address()] = true
		if _, err := parsePrivateKey(h.PrivateKey); err != nil {
			return nil, InvalidField("ssh_config", "The SSH key for %s: %v", h.Hostname, err)
		}
	}
	return hosts, nil
}

// GetPlan validates a spec and says what applying it would do.
func (s Fleets) GetPlan(ctx context.Context, actor *db.User, p *db.Project, spec schemas.FleetSpec) (*schemas.FleetPlan, error) {
	hosts, err := validateSpec(&spec)
	if err != nil {
		return nil, err
	}
	plan := &schemas.FleetPlan{ProjectName: p.Name, User: actor.Name, Offers: []schemas.InstanceOffer{}, Action: "create"}
	var current *db.Fleet
	if spec.Configuration.Name != nil {
		f, err := db.GetFleetByName(ctx, s.DB, p.ID, *spec.Configuration.Name)
		if err == nil {
			if err := refuseTerminating(f); err != nil {
				return nil, err
			}
			current = f
			plan.Action = "update"
			fs, err := s.Schema(ctx, p, f)
			if err != nil {
				return nil, err
			}
			plan.CurrentResource = fs
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
	}
	if err := s.checkHostsFree(ctx, s.DB, p, hosts, current); err != nil {
		return nil, err
	}
	if spec.Configuration.SSHConfig == nil {
		if err := s.cloudPlan(ctx, p, spec, plan); err != nil {
			return nil, err
		}
	}
	// The spec goes back as given, keys included: the client applies the
	// plan by sending it back. Only the server's own views lose the keys.
	plan.Spec = spec
	eff := spec
	eff.Configuration = spec.Configuration.WithoutSSHKeys()
	plan.EffectiveSpec = &eff
	return plan, nil
}

// refuseTerminating refuses to plan or apply over a fleet being deleted:
// its hosts are being cleaned up, and the fleet disappears once they are.
func refuseTerminating(f *db.Fleet) error {
	if schemas.FleetStatus(f.Status) == schemas.FleetTerminating {
		return Invalid("Fleet %s is being deleted; wait until it is gone, then apply again", f.Name)
	}
	return nil
}

// checkHostsFree refuses hosts already in another fleet, of any project:
// a host runs one shim, and its pinned key is the server's, not a
// project's. Hosts still being removed (terminating instances, of any
// fleet, this one included) are refused too: their cleanup would undo the
// new deployment. Apply runs it in its write transaction; the unique index
// on live instances' host_address settles concurrent applies, and the host
// key (once connected) catches one machine under two addresses.
func (s Fleets) checkHostsFree(ctx context.Context, idb bun.IDB, p *db.Project, hosts []RemoteHost, current *db.Fleet) error {
	var used []db.Instance
	err := idb.NewSelect().Model(&used).Where("deleted = ?", false).
		Where("status != ?", string(schemas.InstanceTerminated)).
		Where("remote_connection_info IS NOT NULL").Scan(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, h := range hosts {
		want[h.Address()] = true
	}
	for _, in := range used {
		terminating := in.Status == string(schemas.InstanceTerminating)
		if in.FleetID == nil || (!terminating && current != nil && *in.FleetID == current.ID) {
			continue
		}
		rh, err := s.remoteHost(&in)
		if err != nil || !want[rh.Address()] {
			continue
		}
		where := "a fleet of another project"
		if in.ProjectID == p.ID {
			where = "fleet " + s.fleetName(ctx, idb, p.ID, *in.FleetID)
		}
		if terminating {
			return Invalid("Host %s is still being removed from %s (instance %s is terminating); try again once it is gone",
				rh.hostKey(), where, in.Name)
		}
		if in.ProjectID != p.ID {
			return Invalid("Host %s is already in an active fleet of another project; delete it there first", rh.hostKey())
		}
		return Invalid("Host %s is already in an active fleet (%s, instance %s); delete it there first",
			rh.hostKey(), where, in.Name)
	}
	return nil
}

// fleetName names a fleet for messages ("?" when it cannot be read).
func (s Fleets) fleetName(ctx context.Context, idb bun.IDB, projectID, id string) string {
	f, err := db.GetFleetByID(ctx, idb, projectID, id)
	if err != nil {
		return "?"
	}
	return f.Name
}

// remoteHost opens an instance's sealed connection info.
func (s Fleets) remoteHost(in *db.Instance) (*RemoteHost, error) {
	if in.RemoteConnectionInfo == nil {
		return nil, fmt.Errorf("instance %s has no connection info", in.Name)
	}
	plain, err := db.Unseal(s.Sealer, db.InstancesSSHTarget, in.ID, *in.RemoteConnectionInfo)
	if err != nil {
		return nil, err
	}
	rh := new(RemoteHost)
	if err := json.Unmarshal([]byte(plain), rh); err != nil {
		return nil, fmt.Errorf("decode connection info of %s: %w", in.Name, err)
	}
	return rh, nil
}

// Apply creates the fleet, or updates it in place: new hosts are added,
// hosts no longer listed are terminated.
func (s Fleets) Apply(ctx context.Context, actor *db.User, p *db.Project, req schemas.ApplyFleetPlanRequest) (*schemas.Fleet, error) {
	spec := req.Plan.Spec
	hosts, err := validateSpec(&spec)
	if err != nil {
		return nil, err
	}
	name := randomName()
	if spec.Configuration.Name != nil {
		name = *spec.Configuration.Name
	}
	spec.Configuration.Name = &name
	cur, err := db.GetFleetByName(ctx, s.DB, p.ID, name)
	switch {
	case errors.Is(err, db.ErrNotFound):
		cur = nil
		if req.Plan.CurrentResource != nil && !req.Force {
			return nil, Invalid("Failed to apply plan. Resource has been changed. Try again or use force apply.")
		}
	case err != nil:
		return nil, err
	default:
		if !req.Force && (req.Plan.CurrentResource == nil || req.Plan.CurrentResource.ID != cur.ID) {
			return nil, Invalid("Failed to apply plan. Resource has been changed. Try again or use force apply.")
		}
		if err := refuseTerminating(cur); err != nil {
			return nil, err
		}
		now, err := db.Clock(ctx, s.DB)
		if err != nil {
			return nil, err
		}
		if db.IsLeased(cur.Lease, now) {
			return nil, Invalid("Fleet %s is being processed; try again in a few seconds", name)
		}
	}
	var f *db.Fleet
	if spec.Configuration.SSHConfig == nil {
		f, err = s.storeCloud(ctx, UserActor(actor), p, cur, spec)
	} else {
		f, err = s.store(ctx, UserActor(actor), p, cur, spec, hosts)
	}
	if err != nil {
		return nil, err
	}
	s.WakeUp(PipelineInstances)
	return s.Schema(ctx, p, f)
}

// store writes the fleet and its instances in one transaction.
func (s Fleets) store(ctx context.Context, actor Actor, p *db.Project, cur *db.Fleet, spec schemas.FleetSpec, hosts []RemoteHost) (*db.Fleet, error) {
	now := s.now()
	stripped := spec
	stripped.Configuration = spec.Configuration.WithoutSSHKeys()
	f := cur
	if f == nil {
		f = &db.Fleet{ID: uuid.NewString(), ProjectID: p.ID, Name: *spec.Configuration.Name, CreatedAt: now,
			LastProcessedAt: now, Status: string(schemas.FleetActive)}
		RecordOn(&f.Events, actor, "Fleet created. Status: ACTIVE")
	}
	f.Spec = marshal(stripped)
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.LockProject(ctx, tx, p.ID, false); errors.Is(err, db.ErrNotFound) {
			return &Error{Kind: KindProjectNotFound, Msg: "Not found"}
		} else if err != nil {
			return err
		}
		if err := s.checkHostsFree(ctx, tx, p, hosts, cur); err != nil {
			return err
		}
		existing := map[string]db.Instance{}
		next := 0
		if cur == nil {
			if err := db.InsertFleet(ctx, tx, f); err != nil {
				return err
			}
		} else {
			if err := db.UpdateFleet(ctx, tx, f, "spec"); err != nil {
				return err
			}
			is, err := db.ListFleetInstances(ctx, tx, f.ID)
			if err != nil {
				return err
			}
			for _, in := range is {
				next = max(next, in.InstanceNum+1)
				if rh, err := s.remoteHost(&in); err == nil && schemas.InstanceStatus(in.Status).Active() {
					existing[rh.Address()] = in
				}
			}
		}
		return s.syncInstances(ctx, tx, actor, p, f, hosts, existing, next, now)
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("Fleet %s already exists", f.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("store fleet %s: %w", f.Name, err)
	}
	return f, nil
}

// syncInstances adds an instance per new host and terminates the instances
// of hosts no longer listed, refusing (and so rolling back) when one of
// them runs a job. Hosts not set up yet (pending) take the new connection
// settings, so that re-applying a fixed spec (the right key or user) takes
// effect on the next attempt; deployed hosts are left alone.
func (s Fleets) syncInstances(ctx context.Context, tx bun.Tx, actor Actor, p *db.Project, f *db.Fleet, hosts []RemoteHost,
	existing map[string]db.Instance, next int, now time.Time) error {
	created := "Instance created on fleet submission. Status: PENDING"
	if len(existing) > 0 || next > 0 {
		created = "Instance created on fleet update. Status: PENDING"
	}
	keep := map[string]bool{}
	for _, h := range hosts {
		keep[h.Address()] = true
		if in, ok := existing[h.Address()]; ok {
			if err := s.updatePending(ctx, tx, &in, h); err != nil {
				return err
			}
			continue
		}
		in := db.Instance{ID: uuid.NewString(), ProjectID: p.ID, FleetID: &f.ID, Name: fmt.Sprintf("%s-%d", f.Name, next),
			InstanceNum: next, CreatedAt: now, LastProcessedAt: now.Add(-time.Hour), Status: string(schemas.InstancePending),
			Health: "healthy", Backend: ptr("remote"), Region: ptr("remote"), Price: ptr(0.0), HostAddress: ptr(h.Address())}
		next++
		RecordOn(&in.Events, actor, created)
		sealed, err := db.Seal(s.Sealer, db.InstancesSSHTarget, in.ID, marshal(h))
		if err != nil {
			return err
		}
		in.RemoteConnectionInfo = &sealed
		if err := db.InsertInstances(ctx, tx, []db.Instance{in}); errors.Is(err, db.ErrConflict) {
			return Invalid("Host %s is already in an active fleet; delete it there first", h.hostKey())
		} else if err != nil {
			return err
		}
	}
	for k, in := range existing {
		if keep[k] {
			continue
		}
		if err := SetInstanceStatusBy(&in, actor, schemas.InstanceTerminating); err != nil {
			return err
		}
		in.TerminationReason = ptr("terminated_by_user")
		ok, err := db.TerminateIdleInstance(ctx, tx, &in, "terminated_by_user", dueNow())
		if err != nil {
			return err
		}
		if !ok {
			return Invalid("Failed to update fleet %s: host %s (instance %s) is in use; stop its runs first, or keep it in the fleet",
				f.Name, k, in.Name)
		}
	}
	return nil
}

// updatePending reseals the connection settings of a pending instance when
// they changed.
func (s Fleets) updatePending(ctx context.Context, tx bun.Tx, in *db.Instance, h RemoteHost) error {
	if in.Status != string(schemas.InstancePending) {
		return nil
	}
	if old, err := s.remoteHost(in); err == nil && marshal(old) == marshal(h) {
		return nil
	}
	sealed, err := db.Seal(s.Sealer, db.InstancesSSHTarget, in.ID, marshal(h))
	if err != nil {
		return err
	}
	in.RemoteConnectionInfo = &sealed
	in.LastProcessedAt = dueNow() // retried with the new settings at once
	return db.UpdateInstance(ctx, tx, in, "remote_connection_info", "last_processed_at")
}
