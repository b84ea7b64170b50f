package sched

import "time"

// ProbeState is one probe of a service job as the probes pipeline sees it.
type ProbeState struct {
	JobRunning    bool
	Interval      time.Duration
	ReadyAfter    int
	UntilReady    bool
	SuccessStreak int
	ProbedAt      *time.Time // nil before the first execution
}

// ProbeAction is what the probes pipeline does with a probe in one pass.
type ProbeAction string

// Probe actions.
const (
	ProbeWait ProbeAction = "wait" // not due yet
	ProbeRun  ProbeAction = "run"  // execute it now
	ProbeStop ProbeAction = "stop" // deactivate: the job stopped running, or until_ready reached
)

// DecideProbe says whether a probe runs now: the first execution as soon as the
// job runs, then every interval after the previous one. As upstream, a probe stops
// when its job is no longer running, and an until_ready probe once it is ready.
func DecideProbe(p ProbeState, now time.Time) ProbeAction {
	switch {
	case !p.JobRunning:
		return ProbeStop
	case p.UntilReady && p.SuccessStreak >= p.ReadyAfter:
		return ProbeStop
	case p.ProbedAt == nil || !now.Before(p.ProbedAt.Add(p.Interval)):
		return ProbeRun
	}
	return ProbeWait
}

// ProbeStreak is the new success streak after an execution: one more on a
// success, zero on a failure.
func ProbeStreak(streak int, ok bool) int {
	if !ok {
		return 0
	}
	return streak + 1
}

// ProbesReady reports whether a running replica takes traffic: every probe has
// had readyAfter[i] successes in a row. A replica without probes is ready; a
// probe not executed yet (no streak) is not.
func ProbesReady(readyAfter, streaks []int) bool {
	if len(streaks) < len(readyAfter) {
		return false
	}
	for i, n := range readyAfter {
		if streaks[i] < n {
			return false
		}
	}
	return true
}
