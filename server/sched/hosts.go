package sched

import (
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// Host is an SSH fleet instance as the instances pipeline loaded it.
type Host struct {
	Status    schemas.InstanceStatus
	CreatedAt time.Time
	// DeployTimeout is how long a pending host may fail to be set up before it is given up.
	DeployTimeout time.Duration
}

// HostReport is what one pass of the instances pipeline saw of a host. Exactly one of its
// parts describes the pass: the deployment of a pending host, the health check of a ready
// one, or the clean-up of a terminating one.
type HostReport struct {
	// Unusable says why the host's stored connection settings cannot be used.
	Unusable string
	// DeployErr says why the agent could not be deployed to a pending host.
	DeployErr string
	// BadHost says why a deployed host cannot serve as an instance (its facts contradict
	// the fleet's configuration).
	BadHost string
	// CheckErr says why a ready host failed its health check.
	CheckErr string
}

// HostDecision is what happens to an instance after a pass of the instances pipeline.
type HostDecision struct {
	// Status is the instance's new status ("" keeps it).
	Status schemas.InstanceStatus
	// TerminationReason and TerminationMessage are set when the host is given up.
	TerminationReason  string
	TerminationMessage string
	// StatusMessage is the instance's status message: the last error, "" for none.
	StatusMessage string
	// Unreachable is whether a ready host is marked unreachable.
	Unreachable bool
	// Deleted removes the instance from its fleet (it has been cleaned up).
	Deleted bool
}

// DecideHost turns a pass over an SSH host into the instance's next state:
//   - unusable connection settings are reported, the status is kept;
//   - a pending host that was set up becomes idle; one whose facts do not fit is terminated
//     (error); one that could not be set up stays pending with the error as its message, and
//     is terminated (provisioning_timeout) once it has failed for DeployTimeout;
//   - a ready host is marked unreachable while its health check fails, reachable again once
//     it passes;
//   - a terminating host, cleaned up as far as it could be, is terminated and deleted.
func DecideHost(h Host, rep HostReport, now time.Time) HostDecision {
	switch {
	case rep.Unusable != "":
		return HostDecision{StatusMessage: rep.Unusable}
	case h.Status == schemas.InstanceTerminating:
		return HostDecision{Status: schemas.InstanceTerminated, Deleted: true}
	case h.Status == schemas.InstancePending && rep.DeployErr != "":
		d := HostDecision{StatusMessage: rep.DeployErr}
		if now.Sub(h.CreatedAt) > h.DeployTimeout {
			d.Status, d.TerminationReason = schemas.InstanceTerminated, "provisioning_timeout"
			d.TerminationMessage = "the host could not be set up within " + h.DeployTimeout.String() + ": " + rep.DeployErr
		}
		return d
	case h.Status == schemas.InstancePending && rep.BadHost != "":
		return HostDecision{Status: schemas.InstanceTerminated, StatusMessage: rep.BadHost,
			TerminationReason: "error", TerminationMessage: rep.BadHost}
	case h.Status == schemas.InstancePending:
		return HostDecision{Status: schemas.InstanceIdle}
	}
	return HostDecision{StatusMessage: rep.CheckErr, Unreachable: rep.CheckErr != ""}
}

// FleetDone reports whether a terminating fleet may end (become terminated and leave the
// listings): every one of its instances is terminated.
func FleetDone(instances []schemas.InstanceStatus) bool {
	for _, s := range instances {
		if s != schemas.InstanceTerminated {
			return false
		}
	}
	return true
}
