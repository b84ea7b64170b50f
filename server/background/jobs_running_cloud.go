package background

import (
	"context"
	"encoding/json"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// awaitInstance holds a job placed on a cloud instance that is still being
// launched: it waits while the instance is pending or provisioning, fails
// the job (failed_to_start_due_to_no_capacity, with the instance's reason)
// when the instance ended before it was ready, and once it is ready gives
// the job the instance's provisioning data and the whole instance's runtime
// data. ready reports whether the job can go on in this pass; when it
// cannot, the job's lease has been ended.
func (p *JobsRunning) awaitInstance(ctx context.Context, j *db.Job, token string) (ready bool, err error) {
	now := time.Now().UTC()
	wait := func(err error) (bool, error) {
		_, _ = db.ReleaseRow(ctx, p.Env.DB, "jobs", j.ID, token, now)
		return false, err
	}
	in, err := db.GetInstance(ctx, p.Env.DB, *j.InstanceID)
	if err != nil {
		return wait(err)
	}
	li := sched.LaunchingInstance{Status: schemas.InstanceStatus(in.Status),
		Provisioned: in.JobProvisioningData != nil && in.Offer != nil}
	if in.TerminationReasonMessage != nil {
		li.TerminationMessage = *in.TerminationReasonMessage
	}
	dec, ready := sched.AwaitLaunch(li)
	if len(dec.Path) > 0 {
		if err := services.SetJobStatus(j, dec.Path...); err != nil {
			return wait(err)
		}
		j.TerminationReason, j.TerminationReasonMessage = ptr(string(dec.TerminationReason)), &dec.Message
		_, err := db.UpdateLeased(ctx, p.Env.DB, j, token, now, "status", "termination_reason", "termination_reason_message")
		p.Env.WakeUp(services.PipelineTerminate)
		return false, err
	}
	if !ready {
		return wait(nil)
	}
	var offer schemas.InstanceOffer
	if err := json.Unmarshal([]byte(*in.Offer), &offer); err != nil {
		return wait(err)
	}
	var spec schemas.JobSpec
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
		return wait(err)
	}
	jrd := sched.JobRuntime(p.NetworkMode, offer, spec.JobsPerReplica > 1)
	j.JobProvisioningData, j.JobRuntimeData = in.JobProvisioningData, ptr(mustJSON(jrd))
	if held, err := db.WriteHeld(ctx, p.Env.DB, j, token, "job_provisioning_data", "job_runtime_data"); err != nil || !held {
		return wait(err)
	}
	return true, nil
}
