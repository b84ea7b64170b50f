package services

import (
	"errors"
	"fmt"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// ErrForbiddenTransition marks a status change the transition tables of server/sched refuse.
var ErrForbiddenTransition = errors.New("forbidden status transition")

// The Set*Status functions are the one place where a stored row's status changes, in the API
// and in the background pipelines alike: each moves the row through path, one status after
// the other, every step checked against its table in server/sched (staying in the current
// status is no step). A forbidden step changes nothing and returns an error wrapping
// ErrForbiddenTransition; the caller then writes nothing. The caller writes the row.

// SetJobStatus moves a job row through path (sched.CanTransitionJob).
func SetJobStatus(j *db.Job, path ...schemas.JobStatus) error {
	return transition("job", j.JobName, &j.Status, path, sched.CanTransitionJob)
}

// SetRunStatus moves a run row through path (sched.CanTransitionRun).
func SetRunStatus(r *db.Run, path ...schemas.RunStatus) error {
	return transition("run", r.RunName, &r.Status, path, sched.CanTransitionRun)
}

// SetInstanceStatus moves an instance row to status to (sched.CanTransitionInstance).
func SetInstanceStatus(in *db.Instance, to schemas.InstanceStatus) error {
	return transition("instance", in.Name, &in.Status, []schemas.InstanceStatus{to}, sched.CanTransitionInstance)
}

// SetFleetStatus moves a fleet row to status to (sched.CanTransitionFleet).
func SetFleetStatus(f *db.Fleet, to schemas.FleetStatus) error {
	return transition("fleet", f.Name, &f.Status, []schemas.FleetStatus{to}, sched.CanTransitionFleet)
}

func transition[S ~string](kind, name string, status *string, path []S, allowed func(from, to S) bool) error {
	from := S(*status)
	for _, to := range path {
		if to == from {
			continue
		}
		if !allowed(from, to) {
			return fmt.Errorf("%w: %s %s cannot go from %s to %s", ErrForbiddenTransition, kind, name, from, to)
		}
		from = to
	}
	*status = string(from)
	return nil
}
