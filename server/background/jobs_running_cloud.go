package background

import (
	"context"
	"encoding/json"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// awaitInstance holds a job placed on a cloud instance that is still being
// launched: it waits while the instance is pending or provisioning, fails
// the job (failed_to_start_due_to_no_capacity, with the instance's reason)
// when the instance ended before it was ready, and once it is ready gives
// the job the instance's provisioning data and the whole instance's runtime
// data. ready reports whether the job can go on in this pass.
func (p *JobsRunning) awaitInstance(ctx context.Context, j *db.Job) (ready bool, columns []string, err error) {
	in, err := db.GetInstance(ctx, p.Env.DB, *j.InstanceID)
	if err != nil {
		return false, nil, err
	}
	switch schemas.InstanceStatus(in.Status) {
	case schemas.InstancePending, schemas.InstanceProvisioning:
		return false, nil, nil
	case schemas.InstanceTerminating, schemas.InstanceTerminated:
		msg := "The instance launched for the job ended before it was ready"
		if in.TerminationReasonMessage != nil {
			msg = *in.TerminationReasonMessage
		}
		j.Status = string(schemas.JobTerminating)
		j.TerminationReason = ptr(string(schemas.JobFailedToStartNoCapacity))
		j.TerminationReasonMessage = &msg
		return false, jobColumns, nil
	}
	if in.JobProvisioningData == nil || in.Offer == nil {
		return false, nil, nil
	}
	var offer schemas.InstanceOffer
	if err := json.Unmarshal([]byte(*in.Offer), &offer); err != nil {
		return false, nil, err
	}
	var spec schemas.JobSpec
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
		return false, nil, err
	}
	jrd := sched.JobRuntime(p.NetworkMode, offer, spec.JobsPerReplica > 1)
	j.JobProvisioningData, j.JobRuntimeData = in.JobProvisioningData, ptr(mustJSON(jrd))
	_, err = p.Env.DB.NewUpdate().Model(j).Column("job_provisioning_data", "job_runtime_data").WherePK().Exec(ctx)
	return err == nil, nil, err
}
