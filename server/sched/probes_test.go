package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecideProbe(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		name string
		p    ProbeState
		want ProbeAction
	}{
		{"first execution at once", ProbeState{JobRunning: true, Interval: 15 * time.Second, ReadyAfter: 1}, ProbeRun},
		{"within the interval", ProbeState{JobRunning: true, Interval: 15 * time.Second, ReadyAfter: 1, ProbedAt: ago(5 * time.Second)}, ProbeWait},
		{"interval passed", ProbeState{JobRunning: true, Interval: 15 * time.Second, ReadyAfter: 1, ProbedAt: ago(15 * time.Second)}, ProbeRun},
		{"job no longer running", ProbeState{Interval: time.Second, ProbedAt: ago(time.Hour)}, ProbeStop},
		{"until_ready and ready", ProbeState{JobRunning: true, Interval: time.Second, ReadyAfter: 2, UntilReady: true,
			SuccessStreak: 2, ProbedAt: ago(time.Hour)}, ProbeStop},
		{"until_ready, not ready yet", ProbeState{JobRunning: true, Interval: time.Second, ReadyAfter: 2, UntilReady: true,
			SuccessStreak: 1, ProbedAt: ago(time.Hour)}, ProbeRun},
		{"ready without until_ready keeps probing", ProbeState{JobRunning: true, Interval: time.Second, ReadyAfter: 1,
			SuccessStreak: 9, ProbedAt: ago(2 * time.Second)}, ProbeRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, DecideProbe(tt.p, now))
		})
	}
}

func TestProbesReady(t *testing.T) {
	tests := []struct {
		name       string
		readyAfter []int
		streaks    []int
		want       bool
	}{
		{"no probes", nil, nil, true},
		{"not executed yet", []int{1}, nil, false},
		{"one success of one needed", []int{1}, []int{1}, true},
		{"streak short", []int{3}, []int{2}, false},
		{"one of two probes failing", []int{1, 2}, []int{5, 0}, false},
		{"both ready", []int{1, 2}, []int{1, 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ProbesReady(tt.readyAfter, tt.streaks))
		})
	}
	require.Equal(t, 3, ProbeStreak(2, true))
	require.Equal(t, 0, ProbeStreak(2, false))
}
