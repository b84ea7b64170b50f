package sched

import "time"

// The server learns how a job is doing only by pulling its runner: a job is
// running from the moment the runner starts it until a pull reports it
// ended. Upstream's server pulls a running job every few seconds, so even a
// job that ends at once is seen running for a while; the official CLI relies
// on that: after `dstack apply` it polls the run (every second for its first
// five polls, then every five seconds), and only a job it sees running gets
// attached to: an SSH tunnel to the job and the runner's log stream, which
// the runner keeps serving until the server has pulled the job's final
// state. A job pulled at once after it started would be reported ended
// before the CLI's next poll, and the CLI would print neither its logs nor
// its exit code.
//
// So the first pull of a started job waits for one more poll of such a
// client plus the time it takes to attach; later pulls come at the
// pipeline's pace. The job's status stays what the server knows.
//
// A client that reads the job's logs through the API (our client's apply,
// `dstack logs`) gets them from what the server pulled, so when one asks for
// them the first pull comes at once.
const (
	// quickStart is how soon after its submission a job must start for a
	// client that applied it to be still polling every second.
	quickStart = 4 * time.Second
	// firstPullQuick is the first pull's delay for a job that started
	// within quickStart: a poll a second apart and an attach.
	firstPullQuick = 4 * time.Second
	// firstPullSlow is the delay for a job that started later, when the
	// client polls every five seconds.
	firstPullSlow = 8 * time.Second
)

// RunnerPull is what decides whether a running job's runner is pulled now.
type RunnerPull struct {
	// SubmittedAt is when the job's submission was created.
	SubmittedAt time.Time
	// StartedAt is when the runner started the job; nil for a job started
	// before this was recorded, which is pulled at once.
	StartedAt *time.Time
	// Pulled reports whether the runner has been pulled since the start.
	Pulled bool
	// LogsWanted reports whether a client has asked for the job's logs.
	LogsWanted bool
}

// firstRunnerPull is when a job that started at startedAt is first pulled.
func firstRunnerPull(submittedAt, startedAt time.Time) time.Time {
	if startedAt.Sub(submittedAt) <= quickStart {
		return startedAt.Add(firstPullQuick)
	}
	return startedAt.Add(firstPullSlow)
}

// RunnerPullDue reports whether a running job's runner is pulled at now:
// always once it has been pulled or its logs are wanted, else from
// firstRunnerPull on.
func RunnerPullDue(p RunnerPull, now time.Time) bool {
	if p.Pulled || p.LogsWanted || p.StartedAt == nil {
		return true
	}
	return !now.Before(firstRunnerPull(p.SubmittedAt, *p.StartedAt))
}
