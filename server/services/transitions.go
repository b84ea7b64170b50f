package services

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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
// ErrForbiddenTransition; the caller then writes nothing. The caller writes the row, and
// with it (in the same transaction, see db.EventLog) one event per step, by System unless
// the *StatusBy variant names the user who asked for the change.

// SetJobStatus moves a job row through path (sched.CanTransitionJob).
func SetJobStatus(j *db.Job, path ...schemas.JobStatus) error {
	return SetJobStatusBy(j, System, path...)
}

// SetJobStatusBy is SetJobStatus on behalf of actor.
func SetJobStatusBy(j *db.Job, actor Actor, path ...schemas.JobStatus) error {
	return transition("job", j.JobName, &j.Status, path, sched.CanTransitionJob, func(from, to schemas.JobStatus) {
		j.Events.Record(statusEvent(actor, func() string {
			msg := statusChange("Job", from, to)
			if to == schemas.JobTerminating {
				msg += reasonSuffix(j.TerminationReason, j.TerminationReasonMessage)
			}
			return msg
		}))
	})
}

// SetRunStatus moves a run row through path (sched.CanTransitionRun).
func SetRunStatus(r *db.Run, path ...schemas.RunStatus) error {
	return SetRunStatusBy(r, System, path...)
}

// SetRunStatusBy is SetRunStatus on behalf of actor.
func SetRunStatusBy(r *db.Run, actor Actor, path ...schemas.RunStatus) error {
	return transition("run", r.RunName, &r.Status, path, sched.CanTransitionRun, func(from, to schemas.RunStatus) {
		r.Events.Record(statusEvent(actor, func() string {
			msg := statusChange("Run", from, to)
			if to == schemas.RunTerminating {
				msg += reasonSuffix(r.TerminationReason, nil)
			}
			return msg
		}))
	})
}

// SetInstanceStatus moves an instance row to status to (sched.CanTransitionInstance).
func SetInstanceStatus(in *db.Instance, to schemas.InstanceStatus) error {
	return SetInstanceStatusBy(in, System, to)
}

// SetInstanceStatusBy is SetInstanceStatus on behalf of actor.
func SetInstanceStatusBy(in *db.Instance, actor Actor, to schemas.InstanceStatus) error {
	return transition("instance", in.Name, &in.Status, []schemas.InstanceStatus{to}, sched.CanTransitionInstance,
		func(from, to schemas.InstanceStatus) {
			in.Events.Record(statusEvent(actor, func() string {
				msg := statusChange("Instance", from, to)
				if to == schemas.InstanceTerminating || to == schemas.InstanceTerminated && from != schemas.InstanceTerminating {
					msg += reasonSuffix(in.TerminationReason, in.TerminationReasonMessage)
				}
				return msg
			}))
		})
}

// SetFleetStatus moves a fleet row to status to (sched.CanTransitionFleet).
func SetFleetStatus(f *db.Fleet, to schemas.FleetStatus) error {
	return SetFleetStatusBy(f, System, to)
}

// SetFleetStatusBy is SetFleetStatus on behalf of actor.
func SetFleetStatusBy(f *db.Fleet, actor Actor, to schemas.FleetStatus) error {
	return transition("fleet", f.Name, &f.Status, []schemas.FleetStatus{to}, sched.CanTransitionFleet,
		func(from, to schemas.FleetStatus) {
			f.Events.Record(statusEvent(actor, func() string {
				msg := statusChange("Fleet", from, to)
				if f.StatusMessage != nil && *f.StatusMessage != "" {
					msg += " (" + *f.StatusMessage + ")"
				}
				return msg
			}))
		})
}

func transition[S ~string](kind, name string, status *string, path []S, allowed func(from, to S) bool, record func(from, to S)) error {
	from := S(*status)
	var steps [][2]S
	for _, to := range path {
		if to == from {
			continue
		}
		if !allowed(from, to) {
			return fmt.Errorf("%w: %s %s cannot go from %s to %s", ErrForbiddenTransition, kind, name, from, to)
		}
		steps = append(steps, [2]S{from, to})
		from = to
	}
	*status = string(from)
	for _, s := range steps {
		record(s[0], s[1])
	}
	return nil
}

// statusEvent is a pending event recorded now, worded when it is stored.
func statusEvent(actor Actor, message func() string) db.PendingEvent {
	return db.PendingEvent{Message: message, ActorUserID: actor.userID(), RecordedAt: nowMicro()}
}

// statusChange words a status change as upstream's events do ("Run status changed
// SUBMITTED -> RUNNING").
func statusChange[S ~string](kind string, from, to S) string {
	return fmt.Sprintf("%s status changed %s -> %s", kind, strings.ToUpper(string(from)), strings.ToUpper(string(to)))
}

// reasonSuffix words a termination reason and its message for a status change event.
func reasonSuffix(reason, message *string) string {
	if reason == nil || *reason == "" {
		return ""
	}
	s := ". Termination reason: " + strings.ToUpper(*reason)
	if message != nil && *message != "" {
		s += " (" + *message + ")"
	}
	return s
}

// nowMicro is the current time at the precision both databases keep, so that
// an event's recorded_at reads back as it was written (keyset paging), and
// later than any time it gave before in this process.
func nowMicro() time.Time {
	eventClock.Lock()
	defer eventClock.Unlock()
	t := time.Now().UTC().Truncate(time.Microsecond)
	if !t.After(eventClock.last) {
		// Several changes in one pass (pulling then running) are recorded
		// in the same microsecond; events are listed by time, so each gets
		// its own, in the order they happened.
		t = eventClock.last.Add(time.Microsecond)
	}
	eventClock.last = t
	return t
}

// eventClock is the last time nowMicro gave.
var eventClock struct {
	sync.Mutex
	last time.Time
}
