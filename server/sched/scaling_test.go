package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDesiredReplicas(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	rps := Scaler{Min: 0, Max: 4, Target: 2, Window: 60 * time.Second, ScaleUpDelay: 30 * time.Second,
		ScaleDownDelay: 60 * time.Second}
	tests := []struct {
		name string
		s    Scaler
		in   ScaleInput
		want int
	}{
		{"manual keeps the count", Scaler{Min: 1, Max: 3}, ScaleInput{Current: 2}, 2},
		{"manual raises to min", Scaler{Min: 2, Max: 3}, ScaleInput{Current: 1}, 2},
		{"manual lowers to max", Scaler{Min: 0, Max: 3}, ScaleInput{Current: 5}, 3},
		{"no stats keeps the count", rps, ScaleInput{Current: 1}, 1},
		{"from zero at once", rps, ScaleInput{Current: 0, Requests: 1, HaveStats: true, lastScaledAt: ago(time.Second)}, 1},
		{"up after the delay", rps, ScaleInput{Current: 1, Requests: 300, HaveStats: true, lastScaledAt: ago(31 * time.Second)}, 3},
		{"up waits for the delay", rps, ScaleInput{Current: 1, Requests: 300, HaveStats: true, lastScaledAt: ago(10 * time.Second)}, 1},
		{"up clipped to max", rps, ScaleInput{Current: 1, Requests: 6000, HaveStats: true}, 4},
		{"down after the delay", rps, ScaleInput{Current: 3, Requests: 60, HaveStats: true, lastScaledAt: ago(61 * time.Second)}, 1},
		{"down waits for the delay", rps, ScaleInput{Current: 3, Requests: 60, HaveStats: true, lastScaledAt: ago(30 * time.Second)}, 3},
		{"to zero without requests", rps, ScaleInput{Current: 1, HaveStats: true, lastScaledAt: ago(2 * time.Minute)}, 0},
		{"down to min", Scaler{Min: 1, Max: 4, Target: 2, Window: time.Minute}, ScaleInput{Current: 2, HaveStats: true}, 1},
		{"steady", rps, ScaleInput{Current: 2, Requests: 200, HaveStats: true, lastScaledAt: ago(time.Second)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, desiredReplicas(tt.s, tt.in, now))
		})
	}
}
