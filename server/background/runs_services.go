package background

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// scale applies a service's decision: jobs whose spec the new deployment
// keeps take its number in place, new replicas are submitted and replicas
// scaled down stop (scaled_down).
func (p *Runs) scale(ctx context.Context, tx bun.Tx, r *db.Run, all []db.Job, st *services.ServiceState,
	sd sched.ServiceDecision, now time.Time) error {
	if r.DesiredReplicaCount == nil || *r.DesiredReplicaCount != sd.Desired {
		p.Log.Info("service scaled", "run", r.RunName, "from", st.Scale.Current, "to", sd.Desired,
			"requests", st.Scale.Requests)
	}
	r.DesiredReplicaCount = ptr(sd.Desired)
	for _, id := range st.Bump {
		if j := findJob(all, id); j != nil {
			if _, err := setJob(ctx, tx, j, func(j *db.Job) error { j.DeploymentNum = r.DeploymentNum; return nil },
				"deployment_num"); err != nil {
				return err
			}
		}
	}
	stopped := false
	for _, num := range sd.Plan.Stop {
		for i := range all {
			j := &all[i]
			status := schemas.JobStatus(j.Status)
			if j.ReplicaNum != num || status.Finished() || status == schemas.JobTerminating {
				continue
			}
			ok, err := setJob(ctx, tx, j, func(j *db.Job) error {
				if err := services.SetJobStatus(j, schemas.JobTerminating); err != nil {
					return err
				}
				j.TerminationReason = ptr(string(schemas.JobScaledDown))
				return nil
			}, "status", "termination_reason")
			if err != nil {
				return err
			}
			stopped = stopped || ok
		}
	}
	if stopped {
		p.Env.WakeUp(services.PipelineTerminate)
	}
	if sd.Plan.Add == 0 {
		return nil
	}
	next := 0
	for i := range all {
		next = max(next, all[i].ReplicaNum+1)
	}
	rows, err := (services.Runs{Env: p.Env}).NewReplicaRows(ctx, r, st, next, sd.Plan.Add, now)
	if err != nil {
		return err
	}
	if err := db.InsertJobs(ctx, tx, rows); err != nil {
		return err
	}
	p.Env.WakeUp(services.PipelineJobs)
	return nil
}
