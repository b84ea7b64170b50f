package background

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// provisionNew gives a job (a placement sched found no instance for) that no existing instance can take a new cloud
// instance, in the fleet sched.PlanCapacity picks: the instance is added
// pending with the job's blocks, and the job waits on it in provisioning
// (the instances pipeline launches it, trying offers cheapest first). It
// reports whether it did; when cloud fleets exist but none can take the
// job, a.Reason becomes upstream's reason.
func (p *JobsSubmitted) provisionNew(ctx context.Context, pl *placement, token string) (bool, error) {
	j, r, spec, a := pl.j, pl.r, pl.spec, &pl.a
	fleets, specs, err := services.CloudFleets(ctx, p.Env, j.ProjectID)
	if err != nil || len(fleets) == 0 {
		return false, err
	}
	req, err := p.jobReq(ctx, pl)
	if err != nil {
		return false, err
	}
	job := sched.Constraint{Requirements: spec.Requirements, Profile: req.Profile}
	b := services.Backends{Env: p.Env}
	for i := range fleets {
		if f := &fleets[i]; req.Selects(f) && f.CanGrow() {
			if f.Offers, err = b.Offers(ctx, j.ProjectID, []sched.Constraint{sched.FleetConstraint(specs[i]), job}); err != nil {
				p.Log.Warn("offers of fleet", "fleet", f.FleetName, "err", err)
			}
		}
	}
	plan := sched.PlanCapacity(req, fleets)
	if plan.FleetID == "" {
		a.Reason = plan.Reason
		return false, nil
	}
	now := time.Now().UTC()
	placed := false
	err = p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		f, err := db.GetFleetByID(ctx, tx, j.ProjectID, plan.FleetID)
		if err != nil {
			return err
		}
		ins, err := services.AddCloudInstances(ctx, tx, p.Env, services.System, f, 0, &job, 1)
		if err != nil || len(ins) == 0 {
			return err
		}
		in := &ins[0]
		if err := services.SetJobStatus(j, schemas.JobProvisioning); err != nil {
			return err
		}
		j.InstanceID, j.UsedInstanceID, j.FleetID, j.InstanceAssigned = &in.ID, &in.ID, &f.ID, true
		ok, err := db.UpdateLeased(ctx, tx, j, token, now, "status", "instance_id", "used_instance_id", "fleet_id", "instance_assigned")
		if err != nil || !ok {
			return errLeaseLost(err)
		}
		placed = true
		p.Log.Info("job provisions a new instance", "job", j.JobName, "fleet", f.Name, "instance", in.Name)
		if r.FleetID == nil {
			r.FleetID = &f.ID
			return db.UpdateRun(ctx, tx, r, "fleet_id")
		}
		return nil
	})
	if err != nil || !placed {
		return false, err
	}
	p.Env.WakeUp(services.PipelineInstances, services.PipelineRunning, services.PipelineRuns)
	return true, nil
}
