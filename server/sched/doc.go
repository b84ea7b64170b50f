// Package sched holds the pure decisions of the dstack server's background loops.
//
// Every loop in server/background follows the same four steps:
//
//  1. claim: lease a batch of rows (lock_owner / lock_expires_at, or FOR UPDATE SKIP LOCKED),
//     so that no other worker or replica processes them at the same time;
//  2. load: read everything the decision needs (runs, jobs, fleets, instances) into plain
//     snapshot values;
//  3. decide: call a function of this package, which turns the snapshot into a plan
//     (which instance a job gets, what a run's status becomes, which jobs to retry);
//  4. apply: write the plan in one transaction and release the lease.
//
// This package is the "decide" step. Its functions take snapshots and, where time matters,
// the current time as an argument; they never read the clock, a database, the network or the
// file system, and they never mutate their inputs. That makes every rule table-testable.
//
// What lives here:
//   - transitions.go: the allowed status transitions of jobs, runs, instances and fleets;
//   - match.go, gpus.go: whether an instance offer satisfies a job's requirements (gpuhunt's
//     rules, with a compute capability table);
//   - instances.go: fleet instances as candidates, their offers for a job (blocks), and the
//     profile's instance filters;
//   - assign.go, batch.go, index.go, reasons.go, shapekey.go: the choice of an instance for
//     each submitted job of a batch (the jobs_submitted pipeline), multi-node runs included;
//   - jobs.go: what a placed job becomes after its agents reported (jobs_running), and how a
//     terminating job is ended (jobs_terminating);
//   - runner_pull.go: when a started job's runner is first pulled;
//   - runs.go, runs_end.go, retry.go: the runs pipeline's decision (status derivation,
//     retries, resubmission back-off, the end of a terminating run);
//   - hosts.go: what an SSH host becomes after a deploy, a health check or a clean-up
//     (instances), and when a deleted fleet ends (fleets);
//   - messages.go: status messages and errors shown to users;
//   - network.go: a job's network mode and resource limits on its instance, and the cluster
//     info of multi-node runs.
//
// The rules follow the wire reference (dstack-wire.md §3–§4, §10.3, §12.2); where it is silent
// they follow the upstream Python server's behaviour.
package sched
