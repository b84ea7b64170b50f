package background

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// JobsSubmitted places submitted jobs on fleet instances, a whole batch at
// once so that blocks are never double-booked:
//
//	submitted ──instance chosen──▶ provisioning
//	    └──no fleet / no capacity──▶ terminating (failed_to_start_due_to_no_capacity)
type JobsSubmitted struct {
	Env *services.Env
	Log *slog.Logger
	// NetworkMode is DSTACK_SERVER_JOB_NETWORK_MODE (1, 2 or 3).
	NetworkMode int
}

// Name implements Pipeline.
func (p *JobsSubmitted) Name() string { return services.PipelineJobs }

// Claim implements Pipeline.
func (p *JobsSubmitted) Claim() db.Claim {
	return db.Claim{Table: "jobs", Where: "status = 'submitted'", Limit: 256, TTL: time.Minute}
}

// Process implements Pipeline (ProcessBatch does the work).
func (p *JobsSubmitted) Process(ctx context.Context, id, token string) error {
	return p.ProcessBatch(ctx, []string{id}, token)
}

// ProcessBatch implements BatchPipeline.
func (p *JobsSubmitted) ProcessBatch(ctx context.Context, ids []string, token string) error {
	var jobs []db.Job
	if err := p.Env.DB.NewSelect().Model(&jobs).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return err
	}
	byProject := map[string][]db.Job{}
	for _, j := range jobs {
		byProject[j.ProjectID] = append(byProject[j.ProjectID], j)
	}
	for project, js := range byProject {
		if err := p.placeProject(ctx, project, js, token); err != nil {
			p.Log.Error("place jobs", "project", project, "err", err)
		}
	}
	return nil
}

// placeProject decides and applies placements for one project's jobs.
func (p *JobsSubmitted) placeProject(ctx context.Context, projectID string, jobs []db.Job, token string) error {
	release := func() { // leave the jobs to the next pass
		now := time.Now().UTC()
		for i := range jobs {
			_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", jobs[i].ID, token, now)
		}
	}
	cands, err := services.Candidates(ctx, p.Env, projectID)
	if err != nil {
		release()
		return err
	}
	runs, err := p.loadRuns(ctx, jobs)
	if err != nil {
		release()
		return err
	}
	var ps []placement
	var reqs []sched.JobReq
	for i := range jobs {
		pl := placement{j: &jobs[i], r: runs[jobs[i].RunID], spec: new(schemas.JobSpec)}
		var req sched.JobReq
		err := errors.New("its run is missing")
		if pl.r != nil {
			if err = json.Unmarshal([]byte(pl.j.JobSpecData), pl.spec); err == nil {
				req, err = p.jobReq(ctx, pl.j, pl.r, pl.spec)
			}
		}
		if err != nil {
			// A job that cannot be decided on fails alone instead of
			// holding up the project's other jobs pass after pass.
			p.Log.Error("cannot place job", "job", pl.j.JobName, "err", err)
			p.fail(ctx, pl.j, token, "The job cannot be scheduled: "+err.Error())
			continue
		}
		ps, reqs = append(ps, pl), append(reqs, req)
	}
	byInstance := map[string]*sched.Candidate{}
	for i := range cands {
		byInstance[cands[i].InstanceID] = &cands[i]
	}
	for i, a := range sched.Assign(reqs, cands) {
		ps[i].a = a
	}
	p.applyAll(ctx, ps, byInstance, token)
	return nil
}

// placement is one job's decision and what applying it needs.
type placement struct {
	j    *db.Job
	r    *db.Run
	spec *schemas.JobSpec
	a    sched.Assignment
}

// loadRuns loads the runs of jobs in one query.
func (p *JobsSubmitted) loadRuns(ctx context.Context, jobs []db.Job) (map[string]*db.Run, error) {
	ids := map[string]bool{}
	for i := range jobs {
		ids[jobs[i].RunID] = true
	}
	var rs []db.Run
	if err := p.Env.DB.NewSelect().Model(&rs).Where("id IN (?)", bun.In(slices.Collect(maps.Keys(ids)))).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]*db.Run, len(rs))
	for i := range rs {
		out[rs[i].ID] = &rs[i]
	}
	return out, nil
}

// fail ends a job that cannot be scheduled at all.
func (p *JobsSubmitted) fail(ctx context.Context, j *db.Job, token, msg string) {
	j.Status = string(schemas.JobTerminating)
	j.TerminationReason = ptr(string(schemas.JobTerminatedByServer))
	j.TerminationReasonMessage = &msg
	if _, err := db.UpdateLeased(ctx, p.Env.DB, j, token, time.Now().UTC(), "status", "termination_reason",
		"termination_reason_message"); err != nil {
		p.Log.Error("fail job", "job", j.JobName, "err", err)
	}
	p.Env.WakeUp(services.PipelineTerminate)
}

// applyAll writes the batch's decisions: jobs that wait or found no
// capacity one by one, placements in one transaction (one by one if that
// fails).
func (p *JobsSubmitted) applyAll(ctx context.Context, ps []placement, cands map[string]*sched.Candidate, token string) {
	var placing []*placement
	for i := range ps {
		pl := &ps[i]
		if pl.a.Outcome == sched.OutcomeWait || pl.a.Outcome == sched.OutcomeNoCapacity {
			if err := p.apply(ctx, pl.j, pl.r, pl.spec, pl.a, cands, token); err != nil {
				p.Log.Error("apply placement", "job", pl.j.JobName, "err", err)
			}
			continue
		}
		placing = append(placing, pl)
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
		if err := p.apply(ctx, pl.j, pl.r, pl.spec, pl.a, cands, token); err != nil {
			p.Log.Error("apply placement", "job", pl.j.JobName, "err", err)
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
			c, in := pl.a.Choice, byID[pl.a.Choice.InstanceID]
			if in == nil {
				taken = append(taken, pl)
				continue
			}
			ok, err := db.ReserveBlocks(ctx, tx, c.InstanceID, c.Blocks)
			if err != nil {
				return err
			}
			if !ok {
				taken = append(taken, pl)
				continue
			}
			j := *pl.j
			jrd := sched.JobRuntime(p.NetworkMode, c.Offer, pl.spec.JobsPerReplica > 1)
			j.Status = string(schemas.JobProvisioning)
			j.InstanceID, j.UsedInstanceID, j.FleetID = &in.ID, &in.ID, &c.FleetID
			j.JobProvisioningData, j.JobRuntimeData = in.JobProvisioningData, ptr(mustJSON(jrd))
			j.InstanceAssigned = true
			ok, err = db.UpdateLeased(ctx, tx, &j, token, now, "status", "instance_id", "used_instance_id", "fleet_id",
				"job_provisioning_data", "job_runtime_data", "instance_assigned")
			if err != nil {
				return err
			}
			if !ok {
				if err := db.ReleaseBlocks(ctx, tx, c.InstanceID, c.Blocks); err != nil {
					return err
				}
				continue
			}
			placed = append(placed, pl)
			if _, done := fleets[pl.r.ID]; pl.r.FleetID == nil && !done {
				r := *pl.r
				r.FleetID = &c.FleetID
				if err := db.UpdateRun(ctx, tx, &r, "fleet_id"); err != nil {
					return err
				}
				fleets[pl.r.ID] = c.FleetID
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

func (p *JobsSubmitted) jobReq(ctx context.Context, j *db.Job, r *db.Run, spec *schemas.JobSpec) (sched.JobReq, error) {
	var rs schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &rs); err != nil {
		return sched.JobReq{}, err
	}
	req := sched.JobReq{JobID: j.ID, RunID: j.RunID, ReplicaNum: j.ReplicaNum, JobNum: j.JobNum, Nodes: spec.JobsPerReplica,
		Priority: r.Priority, SubmittedAt: j.SubmittedAt, Requirements: spec.Requirements, Profile: services.MergedProfile(&rs)}
	if r.FleetID != nil {
		req.RunFleetID = *r.FleetID
	}
	if j.JobNum > 0 {
		var master db.Job
		err := p.Env.DB.NewSelect().Model(&master).Where("run_id = ?", j.RunID).Where("replica_num = ?", j.ReplicaNum).
			Where("job_num = 0").OrderExpr("submission_num DESC").Limit(1).Scan(ctx)
		req.MasterPending = err != nil || master.JobProvisioningData == nil
	}
	return req, nil
}

// apply writes one placement decision and ends the job's lease.
func (p *JobsSubmitted) apply(ctx context.Context, j *db.Job, r *db.Run, spec *schemas.JobSpec, a sched.Assignment,
	cands map[string]*sched.Candidate, token string) error {
	now := time.Now().UTC()
	switch a.Outcome {
	case sched.OutcomeWait:
		_, err := db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return err
	case sched.OutcomeNoCapacity:
		if ok, err := p.provisionNew(ctx, j, r, spec, &a, token); ok || err != nil {
			if err != nil {
				_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
			}
			return err
		}
		j.Status = string(schemas.JobTerminating)
		j.TerminationReason = ptr(string(schemas.JobFailedToStartNoCapacity))
		j.TerminationReasonMessage = ptr(a.Reason)
		p.Log.Info("no capacity for job", "job", j.JobName, "reason", a.Reason)
		_, err := db.UpdateLeased(ctx, p.Env.DB, j, token, now, "status", "termination_reason", "termination_reason_message")
		p.Env.WakeUp(services.PipelineTerminate)
		return err
	}
	c := cands[a.Choice.InstanceID]
	placed := false
	err := p.Env.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := db.ReserveBlocks(ctx, tx, a.Choice.InstanceID, a.Choice.Blocks)
		if err != nil || !ok {
			return err // taken meanwhile: the job stays submitted for the next pass
		}
		in, err := db.GetInstance(ctx, tx, a.Choice.InstanceID)
		if err != nil {
			return err
		}
		jrd := sched.JobRuntime(p.NetworkMode, a.Choice.Offer, spec.JobsPerReplica > 1)
		j.Status = string(schemas.JobProvisioning)
		j.InstanceID, j.UsedInstanceID, j.FleetID = &in.ID, &in.ID, &a.Choice.FleetID
		j.JobProvisioningData, j.JobRuntimeData = in.JobProvisioningData, ptr(mustJSON(jrd))
		j.InstanceAssigned = true
		if ok, err := db.UpdateLeased(ctx, tx, j, token, now, "status", "instance_id", "used_instance_id", "fleet_id",
			"job_provisioning_data", "job_runtime_data", "instance_assigned"); err != nil || !ok {
			return errLeaseLost(err)
		}
		placed = true
		if r.FleetID == nil {
			r.FleetID = &a.Choice.FleetID
			return db.UpdateRun(ctx, tx, r, "fleet_id")
		}
		return nil
	})
	if err != nil || !placed {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return err
	}
	p.Log.Info("job placed", "job", j.JobName, "instance", c.InstanceName, "blocks", a.Choice.Blocks)
	p.Env.WakeUp(services.PipelineRunning, services.PipelineRuns)
	return nil
}
