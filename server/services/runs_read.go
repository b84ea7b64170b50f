package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// Render turns a run into its API object, loading its jobs; limit keeps the
// newest submissions of each job (0 = all).
func (s Runs) Render(ctx context.Context, p *db.Project, r *db.Run, limit int) (*schemas.Run, error) {
	jobs, err := db.ListRunJobs(ctx, s.DB, r.ID)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, p.Name, r, jobs, limit, newNames())
}

// names caches the user and fleet names a listing of runs repeats, so a
// page of runs costs one query per distinct user and fleet, not per run.
type names struct{ users, fleets map[string]string }

func newNames() names { return names{users: map[string]string{}, fleets: map[string]string{}} }

func (n names) user(ctx context.Context, idb bun.IDB, id string) string {
	name, ok := n.users[id]
	if !ok {
		if u, err := db.GetUserByID(ctx, idb, id); err == nil {
			name = u.Name
		}
		n.users[id] = name
	}
	return name
}

func (n names) fleet(ctx context.Context, idb bun.IDB, projectID, id string) string {
	name, ok := n.fleets[id]
	if !ok {
		if f, err := db.GetFleetByID(ctx, idb, projectID, id); err == nil {
			name = f.Name
		}
		n.fleets[id] = name
	}
	return name
}

func (s Runs) render(ctx context.Context, project string, r *db.Run, jobs []db.Job, limit int, cache names) (*schemas.Run, error) {
	out := &schemas.Run{ID: r.ID, ProjectName: project, SubmittedAt: r.SubmittedAt.UTC(), LastProcessedAt: r.LastProcessedAt.UTC(),
		Status: schemas.RunStatus(r.Status), DeploymentNum: r.DeploymentNum, Jobs: []schemas.Job{}, NextTriggeredAt: r.NextTriggeredAt}
	// Specs are stored as canonical JSON and never change: they go out as
	// stored, undecoded (a listing of many runs spends its time here otherwise).
	out.RunSpec = schemas.StoredRunSpec([]byte(r.RunSpec))
	if r.TerminationReason != nil {
		out.TerminationReason = r.TerminationReason
		if e := sched.RunError(schemas.RunTerminationReason(*r.TerminationReason)); e != "" {
			out.Error = &e
		}
	}
	if r.Deleted {
		out.Deleted = ptr(true)
	}
	out.User = cache.user(ctx, s.DB, r.UserID)
	if r.FleetID != nil {
		if name := cache.fleet(ctx, s.DB, r.ProjectID, *r.FleetID); name != "" {
			out.Fleet = &schemas.RunFleet{ID: *r.FleetID, Name: name}
		}
	}
	snap := sched.RunSnapshot{}
	var retries []*schemas.JobRetry
	for i := range jobs {
		j := &jobs[i]
		n := len(out.Jobs)
		if n == 0 || out.Jobs[n-1].JobSpec.JobNum != j.JobNum || out.Jobs[n-1].JobSpec.ReplicaNum != j.ReplicaNum {
			// Only the retry policy is needed of the stored spec.
			retry, err := jobRetry(j)
			if err != nil {
				return nil, err
			}
			out.Jobs = append(out.Jobs, schemas.Job{JobSpec: schemas.StoredJobSpec([]byte(j.JobSpecData), j.ReplicaNum, j.JobNum)})
			retries = append(retries, retry)
			n++
		}
		snap.Jobs = append(snap.Jobs, jobSnapshot(j, retries[n-1]))
		sub, err := submissionSchema(j, snap.Jobs[len(snap.Jobs)-1])
		if err != nil {
			return nil, err
		}
		out.Cost += submissionCost(j, sub, s.now())
		out.Jobs[n-1].JobSubmissions = append(out.Jobs[n-1].JobSubmissions, *sub)
	}
	for i := range out.Jobs {
		if subs := out.Jobs[i].JobSubmissions; limit > 0 && len(subs) > limit {
			out.Jobs[i].JobSubmissions = subs[len(subs)-limit:]
		}
	}
	if len(out.Jobs) > 0 {
		subs := out.Jobs[0].JobSubmissions
		if len(subs) > 0 {
			last := subs[len(subs)-1]
			out.LatestJobSubmission = &last
		}
	}
	out.Cost = math.Round(out.Cost*10000) / 10000
	svc, err := serviceOf(project, r)
	if err != nil {
		return nil, err
	}
	out.Service = svc
	if svc != nil {
		if err := s.fillProbes(ctx, out, jobs); err != nil {
			return nil, err
		}
	}
	snap.Status = schemas.RunStatus(r.Status) // the status message needs only the status and the jobs
	out.StatusMessage = sched.RunStatusMessage(snap)
	return out, nil
}

// submissionSchema renders one job row as a submission.
func submissionSchema(j *db.Job, snap sched.JobSnapshot) (*schemas.JobSubmission, error) {
	sub := &schemas.JobSubmission{ID: j.ID, SubmissionNum: j.SubmissionNum, DeploymentNum: j.DeploymentNum,
		SubmittedAt: j.SubmittedAt.UTC(), LastProcessedAt: j.LastProcessedAt.UTC(), Status: schemas.JobStatus(j.Status),
		TerminationReason: j.TerminationReason, TerminationReasonMessage: j.TerminationReasonMessage, ExitStatus: j.ExitStatus,
		Probes: []schemas.ProbeStatus{}}
	if j.FinishedAt != nil {
		t := j.FinishedAt.UTC()
		sub.FinishedAt = &t
	}
	sub.StatusMessage = sched.JobStatusMessage(snap)
	if j.TerminationReason != nil {
		if e := sched.JobError(schemas.JobTerminationReason(*j.TerminationReason)); e != "" {
			sub.Error = &e
		}
	}
	if j.JobProvisioningData != nil {
		sub.JobProvisioningData = new(schemas.JobProvisioningData)
		if err := json.Unmarshal([]byte(*j.JobProvisioningData), sub.JobProvisioningData); err != nil {
			return nil, fmt.Errorf("decode provisioning data of %s: %w", j.JobName, err)
		}
	}
	if j.JobRuntimeData != nil {
		sub.JobRuntimeData = new(schemas.JobRuntimeData)
		if err := json.Unmarshal([]byte(*j.JobRuntimeData), sub.JobRuntimeData); err != nil {
			return nil, fmt.Errorf("decode runtime data of %s: %w", j.JobName, err)
		}
	}
	return sub, nil
}

// submissionCost is price × hours the submission held its instance.
func submissionCost(j *db.Job, sub *schemas.JobSubmission, now time.Time) float64 {
	if sub.JobProvisioningData == nil {
		return 0
	}
	end := now
	if j.FinishedAt != nil {
		end = *j.FinishedAt
	}
	price := sub.JobProvisioningData.Price
	if sub.JobRuntimeData != nil && sub.JobRuntimeData.Offer != nil {
		price = sub.JobRuntimeData.Offer.Price
	}
	return price * end.Sub(j.SubmittedAt).Hours()
}

// List returns runs of the actor's projects, newest first.
func (s Runs) List(ctx context.Context, actor *db.User, req schemas.ListRunsRequest) ([]schemas.Run, error) {
	page, projects, err := listScope(ctx, s.Env, actor, req.ProjectName, nil, req.PrevSubmittedAt, req.PrevRunID, req.Limit, req.Ascending, 100)
	if err != nil {
		return nil, err
	}
	if req.RepoID != nil && req.ProjectName == nil {
		return []schemas.Run{}, nil
	}
	f := db.RunFilter{ProjectIDs: keys(projects), OnlyActive: req.OnlyActive, Page: page}
	if req.Username != nil {
		u, err := db.GetUserByName(ctx, s.DB, *req.Username)
		if errors.Is(err, db.ErrNotFound) {
			return []schemas.Run{}, nil
		} else if err != nil {
			return nil, err
		}
		f.UserID = &u.ID
	}
	rs, err := db.ListRuns(ctx, s.DB, f)
	if err != nil {
		return nil, err
	}
	return s.renderMany(ctx, projects, rs, req)
}

func (s Runs) renderMany(ctx context.Context, projects map[string]string, rs []db.Run, req schemas.ListRunsRequest) ([]schemas.Run, error) {
	limit := 10
	if req.JobSubmissionsLimit != nil {
		limit = *req.JobSubmissionsLimit
	}
	withJobs := req.IncludeJobs == nil || *req.IncludeJobs
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	all, err := db.ListRunJobs(ctx, s.DB, ids...)
	if err != nil {
		return nil, err
	}
	byRun := map[string][]db.Job{}
	for _, j := range all {
		byRun[j.RunID] = append(byRun[j.RunID], j)
	}
	cache := newNames()
	out := make([]schemas.Run, 0, len(rs))
	for i := range rs {
		r, err := s.render(ctx, projects[rs[i].ProjectID], &rs[i], byRun[rs[i].ID], max(limit, 1), cache)
		if err != nil {
			return nil, err
		}
		if !withJobs || limit == 0 {
			r.Jobs = []schemas.Job{}
		}
		out = append(out, *r)
	}
	return out, nil
}

// Get finds a run by name (live runs) or id (also deleted).
func (s Runs) Get(ctx context.Context, p *db.Project, req schemas.GetRunRequest) (*schemas.Run, error) {
	var (
		r   *db.Run
		err error
	)
	switch {
	case req.ID != nil:
		r, err = db.GetRun(ctx, s.DB, *req.ID)
		if err == nil && r.ProjectID != p.ID {
			err = db.ErrNotFound
		}
	case req.RunName != nil:
		r, err = db.GetRunByName(ctx, s.DB, p.ID, *req.RunName)
	default:
		return nil, Invalid("Specify the run's name or id")
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Run not found")
	} else if err != nil {
		return nil, err
	}
	return s.Render(ctx, p, r, 0)
}

// serviceOf renders a service run's `service` (null for other runs).
func serviceOf(project string, r *db.Run) (json.RawMessage, error) {
	var spec struct {
		Configuration struct {
			Type string `json:"type"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal([]byte(r.RunSpec), &spec); err != nil {
		return nil, fmt.Errorf("decode the configuration of %s: %w", r.RunName, err)
	}
	if spec.Configuration.Type != "service" {
		return nil, nil
	}
	var full struct {
		Configuration schemas.ServiceConfiguration `json:"configuration"`
	}
	if err := json.Unmarshal([]byte(r.RunSpec), &full); err != nil {
		return nil, fmt.Errorf("decode the service configuration of %s: %w", r.RunName, err)
	}
	return json.Marshal(ServiceSpec(project, r.RunName, &full.Configuration))
}

// fillProbes sets the probes of a service's job submissions: each probe's
// success streak, as upstream shows them (ps -v prints them for running jobs).
func (s Runs) fillProbes(ctx context.Context, out *schemas.Run, jobs []db.Job) error {
	ids := make([]string, len(jobs))
	for i := range jobs {
		ids[i] = jobs[i].ID
	}
	probes, err := db.ListJobProbes(ctx, s.DB, ids...)
	if err != nil || len(probes) == 0 {
		return err
	}
	for i := range out.Jobs {
		subs := out.Jobs[i].JobSubmissions
		for k := range subs {
			for _, p := range probes[subs[k].ID] {
				subs[k].Probes = append(subs[k].Probes, schemas.ProbeStatus{SuccessStreak: p.SuccessStreak})
			}
		}
	}
	if out.LatestJobSubmission != nil {
		for _, p := range probes[out.LatestJobSubmission.ID] {
			out.LatestJobSubmission.Probes = append(out.LatestJobSubmission.Probes, schemas.ProbeStatus{SuccessStreak: p.SuccessStreak})
		}
	}
	return nil
}
