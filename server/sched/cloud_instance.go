package sched

import (
	"fmt"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// CloudInstance is a launched cloud instance as the instances pipeline loaded it.
type CloudInstance struct {
	Status    schemas.InstanceStatus
	CreatedAt time.Time
	// ProvisioningTimeout is how long it may take from creation to an answering agent.
	ProvisioningTimeout time.Duration
	// AgentGrace is how long after the VM runs the agent may take to start from user data
	// before the server uploads it over SSH.
	AgentGrace time.Duration
	// RunningSince is when the VM was first seen running (nil: not yet).
	RunningSince *time.Time
	// Deployed is true once the agent was uploaded over SSH.
	Deployed   bool
	BusyBlocks int
}

// CloudReport is what one pass saw of a provisioning instance.
type CloudReport struct {
	// VM is the cloud's state: "pending", "running" or "gone" (Detail says which).
	VM, Detail string
	// SSH is true when the server logged in over SSH; Agent when the shim answered.
	SSH, Agent bool
	// Err is the last failure (reaching the VM, SSH or the agent).
	Err string
}

// CloudDecision is what happens to a provisioning cloud instance.
type CloudDecision struct {
	// Status is the new status ("" keeps it).
	Status                                schemas.InstanceStatus
	TerminationReason, TerminationMessage string
	StatusMessage                         string
	// Deploy asks for the agent to be uploaded over SSH (user data did not start it).
	Deploy bool
}

// Instance termination reasons (upstream's InstanceTerminationReason values).
const (
	reasonProvisioningTimeout = "provisioning_timeout"
	ReasonIdleTimeout         = "idle_timeout"
	ReasonNoOffers            = "no_offers"
	ReasonError               = "error"
	ReasonTerminatedByUser    = "terminated_by_user"
)

// DecideCloudInstance moves a provisioning cloud instance on:
//   - a VM the cloud no longer runs ends the instance (terminated, error);
//   - an answering agent makes it idle, or busy when a job already holds its blocks;
//   - past ProvisioningTimeout without an answering agent it is terminated (terminating,
//     provisioning_timeout): the VM is ended, never left running;
//   - a VM that runs, takes SSH logins, but has no agent AgentGrace after it started gets the
//     agent uploaded over SSH (once);
//   - otherwise it waits, with the last error as its status message.
func DecideCloudInstance(in CloudInstance, rep CloudReport, now time.Time) CloudDecision {
	switch {
	case rep.VM == "gone":
		msg := fmt.Sprintf("The instance is gone from the cloud before it became ready (state: %s)", rep.Detail)
		return CloudDecision{Status: schemas.InstanceTerminated, TerminationReason: ReasonError, TerminationMessage: msg, StatusMessage: msg}
	case rep.Agent:
		if in.BusyBlocks > 0 {
			return CloudDecision{Status: schemas.InstanceBusy}
		}
		return CloudDecision{Status: schemas.InstanceIdle}
	case now.Sub(in.CreatedAt) > in.ProvisioningTimeout:
		msg := fmt.Sprintf("The instance did not become ready within %s", in.ProvisioningTimeout)
		if rep.Err != "" {
			msg += ": " + rep.Err
		}
		return CloudDecision{Status: schemas.InstanceTerminating, TerminationReason: reasonProvisioningTimeout,
			TerminationMessage: msg, StatusMessage: msg}
	case rep.SSH && !in.Deployed && in.RunningSince != nil && now.Sub(*in.RunningSince) > in.AgentGrace:
		return CloudDecision{Deploy: true, StatusMessage: "the agent did not start from user data; uploading it over SSH"}
	}
	return CloudDecision{StatusMessage: rep.Err}
}

// IdleRelease decides whether an idle cloud instance is released: it has had no job for
// longer than idleDuration seconds (-1: never) and its fleet is above nodes.min.
func IdleRelease(idleSince time.Time, idleDuration schemas.Duration, fleetActive, fleetMin int, now time.Time) (bool, string) {
	if idleDuration < 0 || fleetActive <= fleetMin {
		return false, ""
	}
	idle := now.Sub(idleSince)
	if idle <= time.Duration(idleDuration)*time.Second {
		return false, ""
	}
	return true, fmt.Sprintf("Instance idle for %ds", int(idle.Seconds()))
}

// TaggedVM is a cloud instance found by the server's tags.
type TaggedVM struct {
	VMID string
	// Row is the instance row it was launched for.
	Row string
}

// InstanceRow is what the orphan sweep needs of an instance row.
type InstanceRow struct {
	Live   bool   // not terminated or deleted
	VMID   string // its provisioning data's instance id ("" when none yet)
	Leased bool   // a pipeline is working on it now
}

// Strays are the tagged VMs to terminate: those of rows the database does not have, or has
// ended, or that launched another VM, and those of rows still without a VM that no pipeline
// is working on (a launch cut short by a crash: the row launches again).
func Strays(vms []TaggedVM, rows map[string]InstanceRow) []string {
	var out []string
	for _, vm := range vms {
		r, ok := rows[vm.Row]
		switch {
		case !ok || !r.Live:
			out = append(out, vm.VMID)
		case r.VMID != "" && r.VMID != vm.VMID:
			out = append(out, vm.VMID)
		case r.VMID == "" && !r.Leased:
			out = append(out, vm.VMID)
		}
	}
	return out
}
