package services

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// jobSnapshot turns a job row into what sched decides on; retry is the job spec's retry
// policy, decoded by the caller.
func jobSnapshot(j *db.Job, retry *schemas.JobRetry) sched.JobSnapshot {
	s := sched.JobSnapshot{JobID: j.ID, ReplicaNum: j.ReplicaNum, JobNum: j.JobNum, SubmissionNum: j.SubmissionNum,
		Status: schemas.JobStatus(j.Status), ExitStatus: j.ExitStatus, Provisioned: j.JobProvisioningData != nil,
		LastProcessedAt: j.LastProcessedAt, Retry: retry, DeploymentNum: j.DeploymentNum}
	if j.TerminationReason != nil {
		s.TerminationReason = schemas.JobTerminationReason(*j.TerminationReason)
	}
	if j.TerminationReasonMessage != nil {
		s.TerminationReasonMessage = *j.TerminationReasonMessage
	}
	return s
}

// jobRetry decodes the retry policy of a stored job spec.
func jobRetry(j *db.Job) (*schemas.JobRetry, error) {
	var spec struct {
		Retry *schemas.JobRetry `json:"retry"`
	}
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
		return nil, fmt.Errorf("the stored spec of job %s cannot be read: %w", j.JobName, err)
	}
	return spec.Retry, nil
}

// RunSnapshot turns a run row and its job rows into what sched decides on. When the run's
// spec or a job's spec cannot be read, the snapshot says why in Broken (the rest of it is
// filled in as far as it goes) and sched stops the run rather than decide on wrong data.
func RunSnapshot(r *db.Run, jobs []db.Job) sched.RunSnapshot {
	s := sched.RunSnapshot{Status: schemas.RunStatus(r.Status), SubmittedAt: r.SubmittedAt, NextTriggeredAt: r.NextTriggeredAt,
		ResubmissionAttempt: r.ResubmissionAttempt, DeploymentNum: r.DeploymentNum}
	if r.TerminationReason != nil {
		s.TerminationReason = schemas.RunTerminationReason(*r.TerminationReason)
	}
	var spec schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &spec); err != nil {
		s.Broken = fmt.Sprintf("the stored spec of run %s cannot be read: %v", r.RunName, err)
	} else {
		s.StopCriteria = MergedProfile(&spec).ResolvedStopCriteria()
	}
	retries := map[[2]int]*schemas.JobRetry{}
	for i := range jobs {
		j := &jobs[i]
		k := [2]int{j.ReplicaNum, j.JobNum}
		retry, ok := retries[k]
		if !ok {
			var err error
			if retry, err = jobRetry(j); err != nil && s.Broken == "" {
				s.Broken = err.Error()
			}
			retries[k] = retry
		}
		s.Jobs = append(s.Jobs, jobSnapshot(j, retry))
	}
	return s
}

// MergedProfile is the run's profile overridden by its configuration.
func MergedProfile(spec *schemas.RunSpec) schemas.Profile {
	var params schemas.ProfileParams
	if p := spec.Configuration.Params(); p != nil {
		params = *p
	}
	return schemas.MergeRunProfile(spec.Profile, params)
}

// Candidates loads the project's fleet instances as scheduling candidates. An instance
// whose stored data (its fleet's spec, its offer, its provisioning data) cannot be read is
// left out, and the reason is logged: placing a job by wrong data is worse than not using
// the instance.
//
// Fleets other projects export to the project are candidates too, marked Imported with their
// project's name: a `fleets:` reference must name that project to select them.
func Candidates(ctx context.Context, env *Env, projectID string) ([]sched.Candidate, error) {
	fs, err := db.ListFleets(ctx, env.DB, db.FleetFilter{ProjectIDs: []string{projectID}, OnlyActive: true, Page: db.Page{Limit: -1}})
	if err != nil {
		return nil, err
	}
	owners, ifs, err := candidateOwners(ctx, env, projectID)
	if err != nil {
		return nil, err
	}
	imported, err := importedFleets(ctx, env, ifs)
	if err != nil {
		return nil, err
	}
	fs = append(fs, imported...)
	specs := map[string]*schemas.FleetSpec{}
	byID := map[string]*db.Fleet{}
	ids := make([]string, len(fs))
	for i := range fs {
		f := &fs[i]
		byID[f.ID], ids[i] = f, f.ID
		var spec schemas.FleetSpec
		if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil {
			env.Log.Error("fleet left out of scheduling: its stored spec cannot be read", "fleet", f.Name, "err", err)
			continue
		}
		specs[f.ID] = &spec
	}
	is, err := db.ListSchedulingInstances(ctx, env.DB, ids...)
	if err != nil {
		return nil, err
	}
	// Hosts of one kind store the same offer: each distinct one is decoded
	// once per call. The candidates share its slices, which the scheduler
	// only reads (sched.OffersForJob copies what it returns).
	offers := map[string]schemas.InstanceOffer{}
	out := make([]sched.Candidate, 0, len(is))
	for i := range is {
		in := &is[i]
		f := byID[*in.FleetID]
		if f == nil || specs[f.ID] == nil || !schemas.InstanceStatus(in.Status).Active() {
			continue
		}
		c, err := candidate(in, f, specs[f.ID], offers)
		if err != nil {
			env.Log.Error("instance left out of scheduling", "instance", in.Name, "err", err)
			continue
		}
		c.FleetProject, c.Imported = owners[f.ProjectID], f.ProjectID != projectID
		out = append(out, c)
	}
	return out, nil
}

// candidate is the instance as the scheduler sees it; offers holds the
// offers decoded so far, by their stored JSON.
func candidate(in *db.Instance, f *db.Fleet, spec *schemas.FleetSpec, offers map[string]schemas.InstanceOffer) (sched.Candidate, error) {
	c := sched.Candidate{InstanceID: in.ID, InstanceName: in.Name, InstanceNum: in.InstanceNum, FleetID: f.ID, FleetName: f.Name,
		Status: schemas.InstanceStatus(in.Status), Unreachable: in.Unreachable, HealthFailure: in.Health == "failure",
		BusyBlocks: in.BusyBlocks}
	if spec.Configuration.Placement != nil && *spec.Configuration.Placement == "cluster" {
		c.ClusterPlacement = true
	}
	if in.TotalBlocks != nil {
		c.TotalBlocks = *in.TotalBlocks
	}
	if in.Offer != nil {
		off, ok := offers[*in.Offer]
		if !ok {
			if err := json.Unmarshal([]byte(*in.Offer), &off); err != nil {
				return c, fmt.Errorf("its stored offer cannot be read: %w", err)
			}
			offers[*in.Offer] = off
		}
		c.Offer = off
	}
	if in.JobProvisioningData != nil {
		var jpd struct { // what placement reads of it
			Hostname   *string `json:"hostname"`
			InternalIP *string `json:"internal_ip"`
		}
		if err := json.Unmarshal([]byte(*in.JobProvisioningData), &jpd); err != nil {
			return c, fmt.Errorf("its stored provisioning data cannot be read: %w", err)
		}
		if jpd.Hostname != nil {
			c.Hostname = *jpd.Hostname
		}
		if jpd.InternalIP != nil {
			c.InternalIP = *jpd.InternalIP
		}
	}
	return c, nil
}

// candidateOwners maps the project and every project that exports fleets to
// it, by id, to their names, and lists the fleets exported to it.
func candidateOwners(ctx context.Context, env *Env, projectID string) (map[string]string, []db.ImportedFleet, error) {
	p, err := db.GetProjectByID(ctx, env.DB, projectID)
	if err != nil {
		return nil, nil, fmt.Errorf("load project: %w", err)
	}
	out := map[string]string{p.ID: p.Name}
	ifs, err := db.ListImportedFleets(ctx, env.DB, projectID)
	if err != nil {
		return nil, nil, fmt.Errorf("list imported fleets: %w", err)
	}
	for _, f := range ifs {
		out[f.ProjectID] = f.ProjectName
	}
	return out, ifs, nil
}

// importedFleets loads the active fleets among those exported to a
// project.
func importedFleets(ctx context.Context, env *Env, ifs []db.ImportedFleet) ([]db.Fleet, error) {
	if len(ifs) == 0 {
		return nil, nil
	}
	byProject := map[string]bool{}
	ids := map[string]bool{}
	for _, f := range ifs {
		byProject[f.ProjectID], ids[f.FleetID] = true, true
	}
	var projects []string
	for id := range byProject {
		projects = append(projects, id)
	}
	fs, err := db.ListFleets(ctx, env.DB, db.FleetFilter{ProjectIDs: projects, OnlyActive: true, Page: db.Page{Limit: -1}})
	if err != nil {
		return nil, err
	}
	out := fs[:0]
	for _, f := range fs {
		if ids[f.ID] {
			out = append(out, f)
		}
	}
	return out, nil
}
