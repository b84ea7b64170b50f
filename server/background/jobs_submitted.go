package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// once (sched.Assign) so that blocks are never double-booked: a job reuses an
// instance with free blocks and moves to provisioning, waits for its master
// or its run's fleet, or fails for lack of capacity. See README.md.
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
	return db.Claim{Table: "jobs", Where: "status = 'submitted'", Limit: 256, TTL: leaseTTL}
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

// placement is one job's decision and what applying it needs.
type placement struct {
	j    *db.Job
	r    *db.Run
	spec *schemas.JobSpec
	a    sched.Assignment
}

// placeProject loads one project's jobs and instances, decides the
// placements and applies them.
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
		req, err := p.jobReq(ctx, &pl)
		if err != nil {
			// A job that cannot be decided on fails alone instead of
			// holding up the project's other jobs pass after pass.
			p.Log.Error("cannot place job", "job", pl.j.JobName, "err", err)
			p.stop(ctx, pl.j, token, schemas.JobTerminatedByServer, "The job cannot be scheduled: "+err.Error())
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

// jobReq is the job as sched.Assign sees it; it decodes the job's spec
// into pl.spec.
func (p *JobsSubmitted) jobReq(ctx context.Context, pl *placement) (sched.JobReq, error) {
	j, r := pl.j, pl.r
	if r == nil {
		return sched.JobReq{}, errors.New("its run is missing")
	}
	if err := json.Unmarshal([]byte(j.JobSpecData), pl.spec); err != nil {
		return sched.JobReq{}, fmt.Errorf("its stored spec cannot be read: %w", err)
	}
	var rs schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &rs); err != nil {
		return sched.JobReq{}, fmt.Errorf("the stored spec of its run cannot be read: %w", err)
	}
	req := sched.JobReq{JobID: j.ID, RunID: j.RunID, ReplicaNum: j.ReplicaNum, JobNum: j.JobNum, Nodes: pl.spec.JobsPerReplica,
		Priority: r.Priority, SubmittedAt: j.SubmittedAt, Requirements: pl.spec.Requirements, Profile: services.MergedProfile(&rs)}
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

// stop moves a job the batch could not place to terminating and ends its
// lease.
func (p *JobsSubmitted) stop(ctx context.Context, j *db.Job, token string, reason schemas.JobTerminationReason, msg string) {
	now := time.Now().UTC()
	if err := services.SetJobStatus(j, schemas.JobTerminating); err != nil {
		p.Log.Error("stop job", "job", j.JobName, "err", err)
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return
	}
	j.TerminationReason, j.TerminationReasonMessage = ptr(string(reason)), &msg
	if _, err := db.UpdateLeased(ctx, p.Env.DB, j, token, now, "status", "termination_reason",
		"termination_reason_message"); err != nil {
		p.Log.Error("stop job", "job", j.JobName, "err", err)
		return
	}
	p.Env.WakeUp(services.PipelineTerminate)
}
