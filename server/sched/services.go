package sched

import (
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// ServiceScale is a service run's scaling state for one pass of the runs
// pipeline.
type ServiceScale struct {
	Scaler Scaler
	// Current is the replica count the service is scaled to.
	Current int
	// Requests over the scaler's window; HaveStats false when none counted.
	Requests  int64
	HaveStats bool
	// Deployment is the run's deployment number.
	Deployment int
	// Replicas is the latest submission of each replica.
	Replicas []ServiceReplica
}

// ServiceDecision is how a service's replicas change in one pass.
type ServiceDecision struct {
	// Desired is the replica count the service is scaled to after the pass.
	Desired int
	Plan    ReplicaPlan
}

// DecideService completes the runs pipeline's decision d for a service:
// the count the scaler wants (desiredReplicas) and the replicas that start or
// stop for it (planReplicas, which also rolls out a new deployment). A run
// that stops is not scaled. A service whose replicas have all been scaled down
// waits in pending, as upstream's, instead of being resubmitted; it is
// submitted again when the scaler wants a replica (a request came).
func DecideService(run RunSnapshot, d RunDecision, s ServiceScale, now time.Time) (RunDecision, ServiceDecision) {
	keep := ServiceDecision{Desired: s.Current}
	if run.Status == schemas.RunTerminating || run.Broken != "" ||
		(len(d.Path) > 0 && d.Path[len(d.Path)-1] == schemas.RunTerminating) {
		return d, keep
	}
	zero := true // every replica scaled down, or none
	for _, r := range s.Replicas {
		zero = zero && !r.Active && r.ScaledDown
	}
	pending := run.Status == schemas.RunPending || (len(d.Path) > 0 && d.Path[len(d.Path)-1] == schemas.RunPending)
	if pending && !zero {
		return d, keep // a retry of failed replicas: the run's own back-off applies
	}
	in := ScaleInput{Current: s.Current, Requests: s.Requests, HaveStats: s.HaveStats, lastScaledAt: lastScaledAt(s.Replicas)}
	sd := ServiceDecision{Desired: desiredReplicas(s.Scaler, in, now)}
	sd.Plan = planReplicas(s.Deployment, sd.Desired, s.Replicas)
	if !pending {
		return d, sd
	}
	// Scaled to zero: no resubmission; submitted again once a replica starts.
	// The run keeps its fleet, where new replicas go (only a run's first job
	// chooses a fleet).
	d.Resubmit, d.Terminate, d.ResubmissionAttempt, d.ClearFleet = nil, nil, run.ResubmissionAttempt, false
	switch {
	case sd.Plan.Add > 0 && run.Status == schemas.RunPending:
		d.Path = []schemas.RunStatus{schemas.RunSubmitted}
	case sd.Plan.Add > 0:
		d.Path = nil // the new replicas keep the run active
	case run.Status != schemas.RunPending:
		d.Path = []schemas.RunStatus{schemas.RunPending}
	default:
		d.Path = nil
	}
	return d, sd
}
