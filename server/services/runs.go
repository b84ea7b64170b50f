package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

var runNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{1,40}$`) })

// Runs manages runs and their jobs.
type Runs struct{ *Env }

// normalize validates a run spec and fills the server defaults the client
// expects back (repo, ssh key, profile).
func (s Runs) normalize(ctx context.Context, actor *db.User, spec *schemas.RunSpec) error {
	if spec.Configuration.Get() == nil {
		return InvalidField("configuration", "The run spec has no configuration; accepted types: task, service, dev-environment")
	}
	if err := spec.Configuration.Validate(); err != nil {
		return Invalid("Invalid run configuration: %v", err)
	}
	if spec.RunName != nil && !runNameRe().MatchString(*spec.RunName) {
		return InvalidField("run_name", "Run name %q is invalid: use 2-41 lowercase letters, digits or '-', starting with a letter", *spec.RunName)
	}
	if spec.RepoID == nil {
		spec.RepoID = ptr("none")
	}
	if len(spec.RepoData) == 0 || string(spec.RepoData) == "null" {
		spec.RepoData = json.RawMessage(`{"repo_type":"virtual"}`)
	}
	if spec.FileArchives == nil {
		spec.FileArchives = []schemas.FileArchiveRef{}
	}
	if spec.Profile == nil {
		spec.Profile = &schemas.Profile{Name: "default"}
	}
	if base := spec.Configuration.Base(); base.Priority == nil {
		base.Priority = ptr(0)
	}
	if t := spec.Configuration.Task; t != nil && t.Nodes == nil && len(t.Groups) == 0 {
		t.Nodes = ptr(1)
	}
	if spec.SSHKeyPub == nil {
		if actor.SSHPublicKey == nil {
			if _, err := (Users{s.Env}).WithCreds(ctx, actor); err != nil {
				return err
			}
		}
		spec.SSHKeyPub = actor.SSHPublicKey
	}
	return nil
}

// GetPlan says where a run would go: offers from the project's fleets.
func (s Runs) GetPlan(ctx context.Context, actor *db.User, p *db.Project, req schemas.GetRunPlanRequest) (*schemas.RunPlan, error) {
	given := schemas.StoredRunSpec([]byte(marshal(req.RunSpec))) // before normalize fills in the shared parts
	spec := req.RunSpec
	if err := s.normalize(ctx, actor, &spec); err != nil {
		return nil, err
	}
	name := "plan"
	if spec.RunName != nil {
		name = *spec.RunName
	}
	secrets, err := (Secrets{s.Env}).Values(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	profile := MergedProfile(&spec)
	jobs, err := buildJobSpecs(name, &spec, profile, secrets)
	if err != nil {
		return nil, err
	}
	cands, err := Candidates(ctx, s.Env, p.ID)
	if err != nil {
		return nil, err
	}
	limit := 50
	if req.MaxOffers != nil && *req.MaxOffers > 0 {
		limit = *req.MaxOffers
	}
	// The spec goes back as given (the client applies the plan by sending
	// it back); effective_run_spec is what the server made of it.
	plan := &schemas.RunPlan{ProjectName: p.Name, User: actor.Name, RunSpec: given, Action: "create"}
	for _, js := range jobs {
		offers := sched.OffersForJob(js.Requirements, profile, cands)
		jp := schemas.JobPlan{JobSpec: js, Offers: []schemas.InstanceOffer{}, TotalOffers: len(offers)}
		for i, o := range offers {
			if i >= limit {
				break
			}
			jp.Offers = append(jp.Offers, o.InstanceOffer)
			if jp.MaxPrice == nil || o.InstanceOffer.Price > *jp.MaxPrice {
				jp.MaxPrice = ptr(o.InstanceOffer.Price)
			}
		}
		jp.JobSpec.SSHKey = nil
		plan.JobPlans = append(plan.JobPlans, jp)
	}
	if spec.RunName != nil {
		if r, err := db.GetRunByName(ctx, s.DB, p.ID, *spec.RunName); err == nil {
			cur, err := s.Render(ctx, p, r, 1)
			if err != nil {
				return nil, err
			}
			plan.CurrentResource = cur
			// An active run asked to be what it is already: nothing to change
			// in place (a client stops and resubmits it only when forced).
			if !schemas.RunStatus(r.Status).Finished() && marshal(spec) == r.RunSpec {
				plan.Action = "update"
			}
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
	}
	eff := spec
	plan.EffectiveRunSpec = &eff
	return plan, nil
}

// Apply submits a run. A finished run with the same name is replaced; an
// active one must be stopped first.
func (s Runs) Apply(ctx context.Context, actor *db.User, p *db.Project, req schemas.ApplyRunPlanRequest) (*schemas.Run, error) {
	spec := req.Plan.RunSpec
	if err := s.normalize(ctx, actor, &spec); err != nil {
		return nil, err
	}
	var old *db.Run
	if spec.RunName != nil {
		r, err := db.GetRunByName(ctx, s.DB, p.ID, *spec.RunName)
		switch {
		case err == nil && !schemas.RunStatus(r.Status).Finished():
			return nil, Invalid("Cannot override active run. Stop the run first.")
		case err == nil:
			old = r
		case !errors.Is(err, db.ErrNotFound):
			return nil, err
		}
	} else {
		spec.RunName = ptr(randomName() + "-1")
	}
	secrets, err := (Secrets{s.Env}).Values(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	jobs, err := buildJobSpecs(*spec.RunName, &spec, MergedProfile(&spec), secrets)
	if err != nil {
		return nil, err
	}
	now := s.now()
	run := &db.Run{ID: uuid.NewString(), ProjectID: p.ID, UserID: actor.ID, RunName: *spec.RunName, SubmittedAt: now,
		LastProcessedAt: now, Status: string(schemas.RunSubmitted), RunSpec: marshal(spec), Priority: *spec.Configuration.Base().Priority}
	rows := make([]db.Job, len(jobs))
	for i, js := range jobs {
		rows[i] = NewJobRow(run, js, 0, now)
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if old != nil {
			old.Deleted = true
			if err := db.UpdateRun(ctx, tx, old, "deleted"); err != nil {
				return err
			}
		}
		return db.InsertRunWithJobs(ctx, tx, run, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("store run %s: %w", run.RunName, err)
	}
	s.WakeUp(PipelineJobs)
	return s.Render(ctx, p, run, 10)
}

// NewJobRow makes a submission of a job.
func NewJobRow(run *db.Run, js schemas.JobSpec, submission int, now time.Time) db.Job {
	return db.Job{ID: uuid.NewString(), ProjectID: run.ProjectID, RunID: run.ID, RunName: run.RunName, JobNum: js.JobNum,
		JobName: js.JobName, ReplicaNum: js.ReplicaNum, SubmissionNum: submission, DeploymentNum: run.DeploymentNum,
		SubmittedAt: now, LastProcessedAt: now, Status: string(schemas.JobSubmitted), JobSpecData: marshal(js)}
}
