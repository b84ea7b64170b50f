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
	cands, err := services.Candidates(ctx, p.Env, projectID)
	if err != nil {
		return err
	}
	runs := map[string]*db.Run{}
	reqs := make([]sched.JobReq, 0, len(jobs))
	specs := make([]schemas.JobSpec, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		r, ok := runs[j.RunID]
		if !ok {
			if r, err = db.GetRun(ctx, p.Env.DB, j.RunID); err != nil {
				return err
			}
			runs[j.RunID] = r
		}
		if err := json.Unmarshal([]byte(j.JobSpecData), &specs[i]); err != nil {
			return err
		}
		req, err := p.jobReq(ctx, j, r, &specs[i])
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	byInstance := map[string]*sched.Candidate{}
	for i := range cands {
		byInstance[cands[i].InstanceID] = &cands[i]
	}
	for i, a := range sched.Assign(reqs, cands) {
		j := &jobs[i]
		if err := p.apply(ctx, j, runs[j.RunID], &specs[i], a, byInstance, token); err != nil {
			p.Log.Error("apply placement", "job", j.JobName, "err", err)
		}
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
	p.Env.WakeUp(services.PipelineRunning)
	return nil
}
