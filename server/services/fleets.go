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
		return nil, Invalid("Cloud fleets (`nodes`) need a cloud backend, and this server has none configured; use an SSH fleet (`ssh_config`)")
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
		if seen[h.hostKey()] {
			return nil, InvalidField("ssh_config.hosts", "Host %s is listed twice", h.hostKey())
		}
		seen[h.hostKey()] = true
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
	if err := s.checkHostsFree(ctx, p, hosts, current); err != nil {
		return nil, err
	}
	spec.Configuration = spec.Configuration.WithoutSSHKeys()
	plan.Spec = spec
	eff := spec
	plan.EffectiveSpec = &eff
	return plan, nil
}

// checkHostsFree refuses hosts already in another active fleet.
func (s Fleets) checkHostsFree(ctx context.Context, p *db.Project, hosts []RemoteHost, current *db.Fleet) error {
	active, err := db.ActiveInstances(ctx, s.DB, p.ID)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, h := range hosts {
		want[h.hostKey()] = true
	}
	for _, in := range active {
		if in.FleetID == nil || (current != nil && *in.FleetID == current.ID) || in.RemoteConnectionInfo == nil {
			continue
		}
		rh, err := s.remoteHost(&in)
		if err != nil {
			continue
		}
		if want[rh.hostKey()] {
			return Invalid("Host %s is already in an active fleet (instance %s); delete it there first", rh.hostKey(), in.Name)
		}
	}
	return nil
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
		if db.IsLeased(cur.Lease, s.now()) {
			return nil, Invalid("Fleet %s is being processed; try again in a few seconds", name)
		}
	}
	if err := s.checkHostsFree(ctx, p, hosts, cur); err != nil {
		return nil, err
	}
	f, err := s.store(ctx, p, cur, spec, hosts)
	if err != nil {
		return nil, err
	}
	s.wake(PipelineInstances)
	return s.Schema(ctx, p, f)
}

// store writes the fleet and its instances in one transaction.
func (s Fleets) store(ctx context.Context, p *db.Project, cur *db.Fleet, spec schemas.FleetSpec, hosts []RemoteHost) (*db.Fleet, error) {
	now := s.now()
	stripped := spec
	stripped.Configuration = spec.Configuration.WithoutSSHKeys()
	f := cur
	if f == nil {
		f = &db.Fleet{ID: uuid.NewString(), ProjectID: p.ID, Name: *spec.Configuration.Name, CreatedAt: now,
			LastProcessedAt: now, Status: string(schemas.FleetActive)}
	}
	f.Spec = marshal(stripped)
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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
					existing[rh.hostKey()] = in
				}
			}
		}
		return s.syncInstances(ctx, tx, p, f, hosts, existing, next, now)
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
// of hosts no longer listed.
func (s Fleets) syncInstances(ctx context.Context, tx bun.Tx, p *db.Project, f *db.Fleet, hosts []RemoteHost,
	existing map[string]db.Instance, next int, now time.Time) error {
	var add []db.Instance
	keep := map[string]bool{}
	for _, h := range hosts {
		keep[h.hostKey()] = true
		if _, ok := existing[h.hostKey()]; ok {
			continue
		}
		in := db.Instance{ID: uuid.NewString(), ProjectID: p.ID, FleetID: &f.ID, Name: fmt.Sprintf("%s-%d", f.Name, next),
			InstanceNum: next, CreatedAt: now, LastProcessedAt: now.Add(-time.Hour), Status: string(schemas.InstancePending),
			Health: "healthy", Backend: ptr("remote"), Region: ptr("remote"), Price: ptr(0.0)}
		next++
		sealed, err := db.Seal(s.Sealer, db.InstancesSSHTarget, in.ID, marshal(h))
		if err != nil {
			return err
		}
		in.RemoteConnectionInfo = &sealed
		add = append(add, in)
	}
	for k, in := range existing {
		if !keep[k] {
			in.Status = string(schemas.InstanceTerminating)
			in.TerminationReason = ptr("terminated_by_user")
			if err := db.UpdateInstance(ctx, tx, &in, "status", "termination_reason"); err != nil {
				return err
			}
		}
	}
	return db.InsertInstances(ctx, tx, add)
}
