package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunnerPullDue(t *testing.T) {
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	for _, tc := range []struct {
		name string
		pull RunnerPull
		now  time.Duration // after t0, the submission
		want bool
	}{
		{name: "pulled before: at the pipeline's pace", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second), Pulled: true},
			now: time.Second, want: true},
		{name: "start not recorded: at once", pull: RunnerPull{SubmittedAt: t0}, now: 0, want: true},
		{name: "quick start: not in the same pass", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second)},
			now: time.Second, want: false},
		{name: "quick start: not before a second poll and an attach", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second)},
			now: 5*time.Second - time.Millisecond, want: false},
		{name: "quick start: then pulled", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second)},
			now: 5 * time.Second, want: true},
		{name: "start at the edge of the quick polls", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(4 * time.Second)},
			now: 8 * time.Second, want: true},
		{name: "slow start: clients poll every five seconds", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(30 * time.Second)},
			now: 37 * time.Second, want: false},
		{name: "slow start: then pulled", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(30 * time.Second)},
			now: 38 * time.Second, want: true},
		{name: "logs wanted by a client: at once", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second), LogsWanted: true},
			now: time.Second, want: true},
		{name: "clock behind the start: not yet", pull: RunnerPull{SubmittedAt: t0, StartedAt: at(time.Second)},
			now: 0, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, RunnerPullDue(tc.pull, t0.Add(tc.now)))
		})
	}
}
