package services

import (
	"context"
	"encoding/json"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// JobSnapshot turns a job row into what sched decides on.
func JobSnapshot(j *db.Job) sched.JobSnapshot {
	var spec struct {
		Retry *schemas.JobRetry `json:"retry"`
	}
	_ = json.Unmarshal([]byte(j.JobSpecData), &spec)
	return jobSnapshot(j, spec.Retry)
}

// jobSnapshot is JobSnapshot for a caller that decoded the job spec already.
func jobSnapshot(j *db.Job, retry *schemas.JobRetry) sched.JobSnapshot {
	s := sched.JobSnapshot{JobID: j.ID, ReplicaNum: j.ReplicaNum, JobNum: j.JobNum, SubmissionNum: j.SubmissionNum,
		Status: schemas.JobStatus(j.Status), ExitStatus: j.ExitStatus, Provisioned: j.JobProvisioningData != nil,
		LastProcessedAt: j.LastProcessedAt}
	if j.TerminationReason != nil {
		s.TerminationReason = schemas.JobTerminationReason(*j.TerminationReason)
	}
	if j.TerminationReasonMessage != nil {
		s.TerminationReasonMessage = *j.TerminationReasonMessage
	}
	s.Retry = retry
	return s
}

// RunSnapshot turns a run row and its job rows into what sched decides on.
func RunSnapshot(r *db.Run, jobs []db.Job, spec *schemas.RunSpec) sched.RunSnapshot {
	s := sched.RunSnapshot{Status: schemas.RunStatus(r.Status), SubmittedAt: r.SubmittedAt, NextTriggeredAt: r.NextTriggeredAt,
		ResubmissionAttempt: r.ResubmissionAttempt}
	if r.TerminationReason != nil {
		s.TerminationReason = schemas.RunTerminationReason(*r.TerminationReason)
	}
	if spec != nil {
		p := MergedProfile(spec)
		s.Scheduled = p.Schedule != nil
		s.StopCriteria = p.ResolvedStopCriteria()
	}
	retries := map[[2]int]*schemas.JobRetry{}
	for i := range jobs {
		j := &jobs[i]
		k := [2]int{j.ReplicaNum, j.JobNum}
		r, ok := retries[k]
		if !ok {
			r = JobSnapshot(j).Retry
			retries[k] = r
		}
		s.Jobs = append(s.Jobs, jobSnapshot(j, r))
	}
	return s
}

// mergedProfile is the run's profile overridden by its configuration.
func MergedProfile(spec *schemas.RunSpec) schemas.Profile {
	var params schemas.ProfileParams
	if p := spec.Configuration.Params(); p != nil {
		params = *p
	}
	return schemas.MergeRunProfile(spec.Profile, params)
}

// Candidates loads the project's fleet instances as scheduling candidates.
func Candidates(ctx context.Context, env *Env, projectID string) ([]sched.Candidate, error) {
	fs, err := db.ListFleets(ctx, env.DB, db.FleetFilter{ProjectIDs: []string{projectID}, OnlyActive: true, Page: db.Page{Limit: -1}})
	if err != nil {
		return nil, err
	}
	byID := map[string]*db.Fleet{}
	ids := make([]string, len(fs))
	for i := range fs {
		byID[fs[i].ID], ids[i] = &fs[i], fs[i].ID
	}
	is, err := db.ListFleetInstances(ctx, env.DB, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]sched.Candidate, 0, len(is))
	for i := range is {
		if c, ok := candidate(&is[i], byID[*is[i].FleetID]); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func candidate(in *db.Instance, f *db.Fleet) (sched.Candidate, bool) {
	if f == nil || !schemas.InstanceStatus(in.Status).Active() {
		return sched.Candidate{}, false
	}
	var spec schemas.FleetSpec
	_ = json.Unmarshal([]byte(f.Spec), &spec)
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
		_ = json.Unmarshal([]byte(*in.Offer), &c.Offer)
	}
	if in.JobProvisioningData != nil {
		var jpd schemas.JobProvisioningData
		if json.Unmarshal([]byte(*in.JobProvisioningData), &jpd) == nil {
			if jpd.Hostname != nil {
				c.Hostname = *jpd.Hostname
			}
			if jpd.InternalIP != nil {
				c.InternalIP = *jpd.InternalIP
			}
		}
	}
	return c, true
}
