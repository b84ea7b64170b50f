package services

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// defaultScalingWindow is upstream's window when `scaling.window` is unset.
const defaultScalingWindow = 60 * time.Second

// ServiceState is what the runs pipeline needs to scale a service run.
type ServiceState struct {
	Scale sched.ServiceScale
	// Bump lists jobs of an older deployment whose spec the new deployment
	// leaves unchanged: they take the run's deployment number in place
	// instead of being replaced.
	Bump []string
	spec *schemas.RunSpec
}

// LoadServiceState reads the scaling state of a service run from its jobs
// (the latest submission of each replica), their probes and the request
// counts; nil for other runs and for services with replica groups, which
// keep the replicas they were submitted with.
func (s Runs) LoadServiceState(ctx context.Context, r *db.Run, jobs []db.Job, now time.Time) (*ServiceState, error) {
	if !bytes.Contains([]byte(r.RunSpec), []byte(`"service"`)) {
		return nil, nil // most runs: no need to decode them
	}
	var spec schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &spec); err != nil {
		return nil, nil // the runs pipeline stops such a run
	}
	conf := spec.Configuration.Service
	if conf == nil || conf.Replicas.Groups != nil {
		return nil, nil
	}
	st := &ServiceState{spec: &spec}
	st.Scale.Scaler = scalerOf(conf)
	st.Scale.Deployment = r.DeploymentNum
	latest := latestByReplica(jobs)
	var ids []string
	for _, j := range latest {
		ids = append(ids, j.ID)
	}
	probes, err := db.ListJobProbes(ctx, s.DB, ids...)
	if err != nil {
		return nil, fmt.Errorf("load probes: %w", err)
	}
	var template []schemas.JobSpec // the new deployment's, built when an old replica needs comparing
	active := 0
	for _, j := range latest {
		var js schemas.JobSpec
		if err := json.Unmarshal([]byte(j.JobSpecData), &js); err != nil {
			return nil, nil // the runs pipeline stops such a run
		}
		status := schemas.JobStatus(j.Status)
		scaledDown := j.TerminationReason != nil && schemas.JobTerminationReason(*j.TerminationReason) == schemas.JobScaledDown
		rep := sched.ServiceReplica{Num: j.ReplicaNum, DeploymentNum: j.DeploymentNum,
			Active: !status.Finished() && status != schemas.JobTerminating, ScaledDown: scaledDown,
			SubmittedAt: j.SubmittedAt, LastProcessedAt: j.LastProcessedAt}
		rep.Ready = rep.Active && status == schemas.JobRunning && sched.ProbesReady(ProbeReadyAfter(&js), streaks(probes[j.ID]))
		if rep.Active {
			active++
		}
		if rep.Active && j.DeploymentNum < r.DeploymentNum {
			if template == nil {
				if template, err = s.ReplicaJobSpecs(ctx, r, &spec, 0); err != nil {
					return nil, err
				}
			}
			if sameJobSpec(template, &js) {
				st.Bump = append(st.Bump, j.ID)
				rep.DeploymentNum = r.DeploymentNum
			}
		}
		st.Scale.Replicas = append(st.Scale.Replicas, rep)
	}
	st.Scale.Current = active
	if r.DesiredReplicaCount != nil {
		st.Scale.Current = *r.DesiredReplicaCount
	}
	if s.Stats != nil && st.Scale.Scaler.Target > 0 {
		st.Scale.Requests, st.Scale.HaveStats = s.Stats.Requests(r.ID, st.Scale.Scaler.Window, now)
	}
	return st, nil
}

// scalerOf is the service's replica rule: replicas min..max (1 when unset)
// and its RPS autoscaling.
func scalerOf(conf *schemas.ServiceConfiguration) sched.Scaler {
	sc := sched.Scaler{Min: 1, Max: 1}
	if r := conf.Replicas.Range; r != nil {
		if r.Min != nil {
			sc.Min = *r.Min
		}
		sc.Max = sc.Min
		if r.Max != nil {
			sc.Max = *r.Max
		}
	}
	if s := conf.Scaling; s != nil && s.Metric == "rps" {
		sc.Target = s.Target
		sc.Window = defaultScalingWindow
		if s.Window != nil {
			sc.Window = time.Duration(*s.Window) * time.Second
		}
		sc.ScaleUpDelay = time.Duration(s.ScaleUpDelay) * time.Second
		sc.ScaleDownDelay = time.Duration(s.ScaleDownDelay) * time.Second
	}
	return sc
}

// sameJobSpec reports whether a stored job spec is what the new deployment
// would run for its job (ignoring the replica's number and name).
func sameJobSpec(template []schemas.JobSpec, js *schemas.JobSpec) bool {
	for _, t := range template {
		if t.JobNum != js.JobNum {
			continue
		}
		t.ReplicaNum, t.JobName = js.ReplicaNum, js.JobName
		return marshal(t) == marshal(*js)
	}
	return false
}

// ReplicaJobSpecs builds the job specs of replica number replica of a run
// from its current spec.
func (s Runs) ReplicaJobSpecs(ctx context.Context, r *db.Run, spec *schemas.RunSpec, replica int) ([]schemas.JobSpec, error) {
	secrets, err := (Secrets{s.Env}).Values(ctx, r.ProjectID)
	if err != nil {
		return nil, err
	}
	all, err := buildJobSpecs(r.RunName, spec, MergedProfile(spec), secrets)
	if err != nil {
		return nil, fmt.Errorf("build the job specs of %s: %w", r.RunName, err)
	}
	var out []schemas.JobSpec
	for _, js := range all {
		if js.ReplicaNum != 0 {
			continue
		}
		js.ReplicaNum = replica
		js.JobName = fmt.Sprintf("%s-%d-%d", r.RunName, js.JobNum, replica)
		out = append(out, js)
	}
	return out, nil
}

// NewReplicaRows makes the first submissions of new replicas numbered from
// first, of the run's current spec and deployment.
func (s Runs) NewReplicaRows(ctx context.Context, r *db.Run, st *ServiceState, first, n int, now time.Time) ([]db.Job, error) {
	var rows []db.Job
	for k := range n {
		specs, err := s.ReplicaJobSpecs(ctx, r, st.spec, first+k)
		if err != nil {
			return nil, err
		}
		for _, js := range specs {
			rows = append(rows, NewJobRow(r, js, 0, now))
			RecordOn(&rows[len(rows)-1].Events, System, "Job created on scaling. Status: SUBMITTED")
		}
	}
	return rows, nil
}

// latestByReplica keeps the newest submission of each replica's first job
// (service replicas have one job each), by replica number.
func latestByReplica(jobs []db.Job) []*db.Job {
	idx := map[int]int{}
	var out []*db.Job
	for i := range jobs {
		j := &jobs[i]
		if j.JobNum != 0 {
			continue
		}
		if at, ok := idx[j.ReplicaNum]; ok {
			if j.SubmissionNum > out[at].SubmissionNum {
				out[at] = j
			}
			continue
		}
		idx[j.ReplicaNum] = len(out)
		out = append(out, j)
	}
	return out
}
