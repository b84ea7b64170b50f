package background

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// applyAll writes the batch's decisions, one applier per outcome:
//   - OutcomeAssigned: the job reuses an existing instance: its blocks are
//     reserved and it moves to provisioning; all such jobs in one transaction
//     (one by one if that fails);
//   - OutcomeWait: the job stays submitted for the next pass;
//   - OutcomeNoCapacity: no instance can take the job; it stops with
//     failed_to_start_due_to_no_capacity and sched's reason.
//
// Before a job stops for lack of capacity, a cloud fleet that can grow gets a
// new instance for it (provisionNew, jobs_capacity.go).
func (p *JobsSubmitted) applyAll(ctx context.Context, ps []placement, cands map[string]*sched.Candidate, token string) {
	var placing []*placement
	for i := range ps {
		pl := &ps[i]
		switch pl.a.Outcome {
		case sched.OutcomeAssigned:
			placing = append(placing, pl)
		case sched.OutcomeWait:
			_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", pl.j.ID, token, time.Now().UTC())
		case sched.OutcomeNoCapacity:
			if ok, err := p.provisionNew(ctx, pl, token); ok || err != nil {
				if err != nil {
					p.Log.Error("provision a new instance for job", "job", pl.j.JobName, "err", err)
					_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", pl.j.ID, token, time.Now().UTC())
				}
				continue
			}
			p.Log.Info("no capacity for job", "job", pl.j.JobName, "cause", pl.a.Cause, "reason", pl.a.Reason)
			p.stop(ctx, pl.j, token, schemas.JobFailedToStartNoCapacity, pl.a.Reason)
		}
	}
	if len(placing) == 0 {
		return
	}
	err := p.placeInTx(ctx, placing, cands, token)
	if err == nil {
		return
	}
	p.Log.Warn("placing the batch in one transaction failed; placing its jobs one by one", "jobs", len(placing), "err", err)
	for _, pl := range placing {
		if err := p.placeInTx(ctx, []*placement{pl}, cands, token); err != nil {
			p.Log.Error("place job", "job", pl.j.JobName, "err", err)
			_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", pl.j.ID, token, time.Now().UTC())
		}
	}
}

// placeInTx reserves the chosen blocks and moves the jobs to provisioning
// in one transaction. A job whose instance was taken meanwhile stays
// submitted for the next pass; one whose lease was lost is left to its new
// holder (its blocks given back).
func (p *JobsSubmitted) placeInTx(ctx context.Context, placing []*placement, cands map[string]*sched.Candidate, token string) error {
	ids := map[string]bool{}
	for _, pl := range placing {
		ids[pl.a.Choice.InstanceID] = true
	}
	var ins []db.Instance
	if err := p.Env.DB.NewSelect().Model(&ins).Where("id IN (?)", bun.In(slices.Collect(maps.Keys(ids)))).Scan(ctx); err != nil {
		return err
	}
	byID := make(map[string]*db.Instance, len(ins))
	for i := range ins {
		byID[ins[i].ID] = &ins[i]
	}
	now := time.Now().UTC()
	var placed, taken []*placement
	fleets := map[string]string{} // run id → fleet id written in this transaction
	err := p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		placed, taken, fleets = placed[:0], taken[:0], map[string]string{}
		for _, pl := range placing {
			ok, err := p.place(ctx, tx, pl, byID[pl.a.Choice.InstanceID], token, now)
			if err != nil {
				return err
			}
			if !ok {
				taken = append(taken, pl)
				continue
			}
			placed = append(placed, pl)
			if _, done := fleets[pl.r.ID]; pl.r.FleetID == nil && !done {
				r := *pl.r
				r.FleetID = &pl.a.Choice.FleetID
				if err := db.UpdateRun(ctx, tx, &r, "fleet_id"); err != nil {
					return err
				}
				fleets[pl.r.ID] = pl.a.Choice.FleetID
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, pl := range placed {
		c := pl.a.Choice
		p.Log.Info("job placed", "job", pl.j.JobName, "instance", cands[c.InstanceID].InstanceName, "blocks", c.Blocks)
	}
	for id, fleet := range fleets {
		for _, pl := range placing {
			if pl.r.ID == id {
				pl.r.FleetID = &fleet
			}
		}
	}
	for _, pl := range taken { // the next pass decides again
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", pl.j.ID, token, now)
	}
	if len(placed) > 0 {
		p.Env.WakeUp(services.PipelineRunning, services.PipelineRuns)
	}
	return nil
}

// place reserves one job's blocks on in and moves the job to provisioning
// under its lease. It reports false, with nothing written, when the
// instance is gone or its blocks were taken meanwhile, or when the job's
// lease was lost.
func (p *JobsSubmitted) place(ctx context.Context, tx bun.Tx, pl *placement, in *db.Instance, token string, now time.Time) (bool, error) {
	c := pl.a.Choice
	if in == nil {
		return false, nil
	}
	ok, err := db.ReserveBlocks(ctx, tx, c.InstanceID, c.Blocks)
	if err != nil || !ok {
		return false, err
	}
	j := *pl.j
	if err := services.SetJobStatus(&j, schemas.JobProvisioning); err != nil {
		return false, err
	}
	jrd := sched.JobRuntime(p.NetworkMode, c.Offer, pl.spec.JobsPerReplica > 1)
	j.InstanceID, j.UsedInstanceID, j.FleetID = &in.ID, &in.ID, &c.FleetID
	j.JobProvisioningData, j.JobRuntimeData = in.JobProvisioningData, ptr(mustJSON(jrd))
	j.InstanceAssigned = true
	ok, err = db.UpdateLeased(ctx, tx, &j, token, now, "status", "instance_id", "used_instance_id", "fleet_id",
		"job_provisioning_data", "job_runtime_data", "instance_assigned")
	if err != nil {
		return false, err
	}
	if !ok {
		return false, db.ReleaseBlocks(ctx, tx, c.InstanceID, c.Blocks)
	}
	return true, nil
}
