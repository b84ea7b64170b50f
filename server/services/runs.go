package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

var runNameRe = schemas.MustNameRule(`^[a-z][a-z0-9-]{1,40}$`)

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
	if err := checkNoGateway(spec.Configuration.Service); err != nil {
		return err
	}
	if spec.RunName != nil && !runNameRe.MatchString(*spec.RunName) {
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
	} else if err := checkRunSSHKey(*spec.SSHKeyPub); err != nil {
		return err
	}
	return s.checkArchives(ctx, actor, spec.FileArchives)
}

// checkRunSSHKey accepts one public key in authorized_keys format, without
// options: the shim adds it to the host user's authorized_keys, where a
// second line or an option would grant more than the run's own access.
func checkRunSSHKey(key string) error {
	key = strings.TrimSpace(key)
	if strings.ContainsAny(key, "\r\n") {
		return InvalidField("ssh_key_pub", "ssh_key_pub must be one public key on one line (authorized_keys format)")
	}
	_, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	switch {
	case err != nil:
		return InvalidField("ssh_key_pub", "ssh_key_pub is not an SSH public key in authorized_keys format (e.g. \"ssh-ed25519 AAAA... me@laptop\"): %v", err)
	case len(options) > 0 || len(rest) > 0:
		return InvalidField("ssh_key_pub", "ssh_key_pub must be a bare public key (\"TYPE BASE64 [COMMENT]\"), without authorized_keys options")
	}
	return nil
}

// checkArchives refuses file archives the actor did not upload.
func (s Runs) checkArchives(ctx context.Context, actor *db.User, refs []schemas.FileArchiveRef) error {
	for i, fa := range refs {
		field := fmt.Sprintf("file_archives[%d].id", i)
		if _, err := uuid.Parse(fa.ID); err != nil {
			return InvalidField(field, "File archive id %q is not a UUID", fa.ID)
		}
		_, err := db.GetUserFileArchive(ctx, s.DB, fa.ID, actor.ID)
		if errors.Is(err, db.ErrNotFound) {
			return &Error{Kind: KindNotFound, Fields: []string{field},
				Msg: fmt.Sprintf("File archive %s not found among your uploads; upload the files again (files/upload_archive)", fa.ID)}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// planJobs normalizes a run spec as a plan sees it and returns its profile,
// its jobs (named after the run, or unnamed when it has no name) and the
// project's placement candidates.
func (s Runs) planJobs(ctx context.Context, actor *db.User, p *db.Project, spec *schemas.RunSpec, unnamed string) (
	schemas.Profile, []schemas.JobSpec, []sched.Candidate, error) {
	if err := s.normalize(ctx, actor, spec); err != nil {
		return schemas.Profile{}, nil, nil, err
	}
	name := unnamed
	if spec.RunName != nil {
		name = *spec.RunName
	}
	secrets, err := (Secrets{s.Env}).Values(ctx, p.ID)
	if err != nil {
		return schemas.Profile{}, nil, nil, err
	}
	profile := MergedProfile(spec)
	jobs, err := buildJobSpecs(name, spec, profile, secrets)
	if err != nil {
		return schemas.Profile{}, nil, nil, err
	}
	cands, err := Candidates(ctx, s.Env, p.ID)
	return profile, jobs, cands, err
}

// GetPlan says where a run would go: offers from the project's fleets.
func (s Runs) GetPlan(ctx context.Context, actor *db.User, p *db.Project, req schemas.GetRunPlanRequest) (*schemas.RunPlan, error) {
	given := schemas.StoredRunSpec([]byte(marshal(req.RunSpec))) // before normalize fills in the shared parts
	spec := req.RunSpec
	profile, jobs, cands, err := s.planJobs(ctx, actor, p, &spec, "plan")
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
		offers, err := s.jobOffers(ctx, p, &js, profile, cands, req.ForOffersOnly)
		if err != nil {
			return nil, err
		}
		jp := schemas.JobPlan{JobSpec: js, Offers: []schemas.InstanceOffer{}, TotalOffers: len(offers)}
		for i, o := range offers {
			if i >= limit {
				break
			}
			jp.Offers = append(jp.Offers, o)
			if jp.MaxPrice == nil || o.Price > *jp.MaxPrice {
				jp.MaxPrice = ptr(o.Price)
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
			// An active run asked to be what it is already, or changed only
			// in what can change in place (checkUpdate): the client applies
			// the plan as an update (it stops and resubmits only when forced).
			if active(r) && (marshal(spec) == r.RunSpec || checkUpdate(r.RunSpec, spec) == nil) {
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
// active one must be stopped first. Names are unique among a project's live
// runs (a unique index): of concurrent applies of one name one wins, and a
// generated name that another apply took meanwhile is generated anew.
func (s Runs) Apply(ctx context.Context, actor *db.User, p *db.Project, req schemas.ApplyRunPlanRequest) (*schemas.Run, error) {
	spec := req.Plan.RunSpec
	if err := s.normalize(ctx, actor, &spec); err != nil {
		return nil, err
	}
	secrets, err := (Secrets{s.Env}).Values(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	generate := spec.RunName == nil
	// An update in place applies a plan made against the live run (its
	// current_resource), as upstream's: an apply that did not see the run
	// is refused below like any other clash of names.
	if cr := req.Plan.CurrentResource; !generate && !req.Force && cr != nil {
		cur, err := db.GetRunByName(ctx, s.DB, p.ID, *spec.RunName)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
		if err == nil && active(cur) && cur.ID == cr.ID {
			run, err := s.update(ctx, cur, spec)
			if err != nil {
				return nil, err
			}
			return s.Render(ctx, p, run, 10)
		}
	}
	for attempt := 1; ; attempt++ {
		if generate {
			name, err := s.freeRunName(ctx, p.ID)
			if err != nil {
				return nil, err
			}
			spec.RunName = &name
		}
		run, err := s.store(ctx, actor, p, spec, secrets)
		if errors.Is(err, db.ErrConflict) && generate && attempt < 5 {
			continue
		}
		if errors.Is(err, db.ErrConflict) {
			return nil, Invalid("Cannot override active run. Stop the run first.")
		}
		if err != nil {
			return nil, err
		}
		s.WakeUp(PipelineJobs)
		return s.Render(ctx, p, run, 10)
	}
}

// active reports whether a run is live and not stopping: one an apply may
// update in place.
func active(r *db.Run) bool {
	st := schemas.RunStatus(r.Status)
	return !st.Finished() && st != schemas.RunTerminating
}

// store writes a run and its jobs, replacing a finished run of the same
// name; db.ErrConflict when a live run holds the name.
func (s Runs) store(ctx context.Context, actor *db.User, p *db.Project, spec schemas.RunSpec, secrets map[string]string) (*db.Run, error) {
	var old *db.Run
	r, err := db.GetRunByName(ctx, s.DB, p.ID, *spec.RunName)
	switch {
	case err == nil && !schemas.RunStatus(r.Status).Finished():
		return nil, db.ErrConflict
	case err == nil:
		old = r
	case !errors.Is(err, db.ErrNotFound):
		return nil, err
	}
	jobs, err := buildJobSpecs(*spec.RunName, &spec, MergedProfile(&spec), secrets)
	if err != nil {
		return nil, err
	}
	now := s.now()
	run := &db.Run{ID: uuid.NewString(), ProjectID: p.ID, UserID: actor.ID, RunName: *spec.RunName, SubmittedAt: now,
		LastProcessedAt: now, Status: string(schemas.RunSubmitted), RunSpec: marshal(spec), Priority: *spec.Configuration.Base().Priority}
	RecordOn(&run.Events, UserActor(actor), "Run submitted. Status: SUBMITTED")
	rows := make([]db.Job, len(jobs))
	for i, js := range jobs {
		rows[i] = NewJobRow(run, js, 0, now)
		RecordOn(&rows[i].Events, UserActor(actor), "Job created on run submission. Status: SUBMITTED")
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.LockProject(ctx, tx, p.ID, false); errors.Is(err, db.ErrNotFound) {
			return &Error{Kind: KindProjectNotFound, Msg: "Not found"}
		} else if err != nil {
			return err
		}
		if old != nil {
			if err := db.RetireFinishedRun(ctx, tx, old.ID); err != nil {
				return err
			}
		}
		return db.InsertRunWithJobs(ctx, tx, run, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("store run %s: %w", run.RunName, err)
	}
	return run, nil
}

// freeRunName generates a name as upstream does: an adjective-animal pair
// with the first number that no live run of the project uses.
func (s Runs) freeRunName(ctx context.Context, projectID string) (string, error) {
	base := randomName()
	taken, err := db.LiveRunNamesWithPrefix(ctx, s.DB, projectID, base+"-")
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, n := range taken {
		used[n] = true
	}
	for i := 1; ; i++ {
		if name := fmt.Sprintf("%s-%d", base, i); !used[name] {
			return name, nil
		}
	}
}

// NewJobRow makes a submission of a job.
func NewJobRow(run *db.Run, js schemas.JobSpec, submission int, now time.Time) db.Job {
	return db.Job{ID: uuid.NewString(), ProjectID: run.ProjectID, RunID: run.ID, RunName: run.RunName, JobNum: js.JobNum,
		JobName: js.JobName, ReplicaNum: js.ReplicaNum, SubmissionNum: submission, DeploymentNum: run.DeploymentNum,
		SubmittedAt: now, LastProcessedAt: now, Status: string(schemas.JobSubmitted), JobSpecData: marshal(js)}
}
