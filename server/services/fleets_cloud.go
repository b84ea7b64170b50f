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
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// BackendRemote is the backend of SSH fleet instances; any other backend
// (or none yet) makes a cloud instance.
const BackendRemote = "remote"

// IsCloud reports whether an instance is a cloud instance.
func IsCloud(in *db.Instance) bool { return in.Backend == nil || *in.Backend != BackendRemote }

// LaunchSpec is what a cloud instance is launched for (the instances'
// requirements column): the constraints every offer must meet.
type LaunchSpec struct {
	Constraints []LaunchConstraint `json:"constraints"`
}

// LaunchConstraint is a sched.Constraint as stored.
type LaunchConstraint struct {
	Requirements schemas.Requirements `json:"requirements"`
	Profile      schemas.Profile      `json:"profile"`
}

// Sched returns the constraints for sched.
func (l LaunchSpec) Sched() []sched.Constraint {
	out := make([]sched.Constraint, len(l.Constraints))
	for i, c := range l.Constraints {
		out[i] = sched.Constraint{Requirements: c.Requirements, Profile: c.Profile}
	}
	return out
}

func launchSpecOf(cs ...sched.Constraint) LaunchSpec {
	var l LaunchSpec
	for _, c := range cs {
		l.Constraints = append(l.Constraints, LaunchConstraint{Requirements: c.Requirements, Profile: c.Profile})
	}
	return l
}

// cloudPlan is the plan of a cloud fleet: the offers its instances may get.
func (s Fleets) cloudPlan(ctx context.Context, p *db.Project, spec schemas.FleetSpec, plan *schemas.FleetPlan) error {
	if err := s.requireBackends(ctx, p); err != nil {
		return err
	}
	offers, err := (Backends{s.Env}).Offers(ctx, p.ID, []sched.Constraint{sched.FleetConstraint(spec)})
	if err != nil {
		return err
	}
	plan.TotalOffers = len(offers)
	for i, o := range offers {
		if i >= 50 {
			break
		}
		plan.Offers = append(plan.Offers, o)
		if plan.MaxOfferPrice == nil || o.Price > *plan.MaxOfferPrice {
			plan.MaxOfferPrice = ptr(o.Price)
		}
	}
	return nil
}

func (s Fleets) requireBackends(ctx context.Context, p *db.Project) error {
	bs, err := db.ListBackends(ctx, s.DB, p.ID)
	if err != nil {
		return err
	}
	if len(bs) == 0 {
		return Invalid("Cloud fleets (`nodes`) need a cloud backend, and project %s has none configured; "+
			"configure one (config.yml, or `dstack admin backends set`) or use an SSH fleet (`ssh_config`)", p.Name)
	}
	return nil
}

// storeCloud writes a cloud fleet and adds pending instances up to
// nodes.target (the instances pipeline launches them).
func (s Fleets) storeCloud(ctx context.Context, actor Actor, p *db.Project, cur *db.Fleet, spec schemas.FleetSpec) (*db.Fleet, error) {
	if err := s.requireBackends(ctx, p); err != nil {
		return nil, err
	}
	now := s.now()
	f := cur
	if f == nil {
		f = &db.Fleet{ID: uuid.NewString(), ProjectID: p.ID, Name: *spec.Configuration.Name, CreatedAt: now,
			LastProcessedAt: now, Status: string(schemas.FleetActive)}
		RecordOn(&f.Events, actor, "Fleet created. Status: ACTIVE")
	}
	f.Spec = marshal(spec)
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if cur == nil {
			if err := db.InsertFleet(ctx, tx, f); err != nil {
				return err
			}
		} else if err := db.UpdateFleet(ctx, tx, f, "spec"); err != nil {
			return err
		}
		target := 0
		if n := spec.Configuration.Nodes; n != nil {
			target = n.Target
		}
		_, err := AddCloudInstances(ctx, tx, s.Env, actor, f, target, nil, 0)
		return err
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("Fleet %s already exists", f.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("store fleet %s: %w", f.Name, err)
	}
	return f, nil
}

// AddCloudInstances adds pending instances to a cloud fleet until it has
// upTo active ones (one more when upTo is 0 and job is set: the instance
// a job provisions), and returns those added. A job's instance is launched
// for the job's requirements as well as the fleet's, and its blocks
// (busyBlocks) are the job's from the start. Each new instance records its
// creation by actor.
func AddCloudInstances(ctx context.Context, idb bun.IDB, env *Env, actor Actor, f *db.Fleet, upTo int, job *sched.Constraint, busyBlocks int) ([]db.Instance, error) {
	var spec schemas.FleetSpec
	if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil {
		return nil, fmt.Errorf("decode spec of fleet %s: %w", f.Name, err)
	}
	is, err := db.ListFleetInstances(ctx, idb, f.ID)
	if err != nil {
		return nil, err
	}
	active, next := 0, 0
	for _, in := range is {
		next = max(next, in.InstanceNum+1)
		if schemas.InstanceStatus(in.Status).Active() {
			active++
		}
	}
	n := sched.NodesToAdd(upTo, active)
	cs := []sched.Constraint{sched.FleetConstraint(spec)}
	if job != nil {
		n = 1
		cs = append(cs, *job)
	}
	var blocks *int
	if !spec.Configuration.Blocks.Auto {
		blocks = ptr(spec.Configuration.Blocks.N)
	}
	profile := marshal(cs[0].Profile)
	now := time.Now().UTC()
	created := "Instance created to meet target fleet node count. Status: PENDING"
	if job != nil {
		created = "Instance created for job. Instance status: PENDING"
	}
	var add []db.Instance
	for range n {
		add = append(add, db.Instance{ID: uuid.NewString(), ProjectID: f.ProjectID, FleetID: &f.ID,
			Name: fmt.Sprintf("%s-%d", f.Name, next), InstanceNum: next, CreatedAt: now, LastProcessedAt: now.Add(-time.Hour),
			Status: string(schemas.InstancePending), Health: "healthy", TotalBlocks: blocks, BusyBlocks: busyBlocks,
			Requirements: ptr(marshal(launchSpecOf(cs...))), Profile: &profile})
		RecordOn(&add[len(add)-1].Events, actor, created)
		next++
	}
	if len(add) == 0 {
		return nil, nil
	}
	if err := db.InsertInstances(ctx, idb, add); err != nil {
		return nil, err
	}
	env.WakeUp(PipelineInstances)
	return add, nil
}

// CloudHost is how the server reaches a running cloud instance: SSH to its
// address as the image's user with the project's key. It is sealed into
// the instance's connection info, so that everything that reaches SSH
// fleet hosts reaches it too.
func CloudHost(env *Env, p *db.Project, in *db.Instance, addr, user string, blocks int) (*RemoteHost, error) {
	key, err := db.Unseal(env.Sealer, db.ProjectsSSHKey, p.ID, p.SSHPrivateKey)
	if err != nil {
		return nil, err
	}
	rh := &RemoteHost{Hostname: addr, Port: 22, User: user, PrivateKey: key, Blocks: blocks}
	sealed, err := db.Seal(env.Sealer, db.InstancesSSHTarget, in.ID, marshal(rh))
	if err != nil {
		return nil, err
	}
	in.RemoteConnectionInfo = &sealed
	return rh, nil
}
