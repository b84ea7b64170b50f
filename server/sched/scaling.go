package sched

import (
	"math"
	"time"
)

// Scaler is a service's replica count rule: min..max, and with RPS
// autoscaling (Target > 0) the request rate over Window per replica it keeps.
type Scaler struct {
	Min, Max int
	// Target is the requests per second per replica (0: no autoscaling, the
	// count is only kept within min..max).
	Target         float64
	Window         time.Duration
	ScaleUpDelay   time.Duration
	ScaleDownDelay time.Duration
}

// ScaleInput is what the scaler looks at.
type ScaleInput struct {
	// Current is the replica count the service is scaled to now.
	Current int
	// Requests is the number of requests over the scaler's window; HaveStats
	// is false when nothing was counted (the service is not published here).
	Requests  int64
	HaveStats bool
	// lastScaledAt is when a replica last started or stopped (nil: never).
	lastScaledAt *time.Time
}

// desiredReplicas is the count the service should have, as upstream's
// scalers decide it: without autoscaling, Current clipped to min..max; with
// RPS autoscaling, ceil(rps / target) clipped to min..max, applied at once
// from zero replicas, otherwise only once scale_up_delay (up) or
// scale_down_delay (down) has passed since the last scaling.
func desiredReplicas(s Scaler, in ScaleInput, now time.Time) int {
	clip := func(n int) int { return min(max(n, s.Min), s.Max) }
	if s.Target <= 0 || s.Window <= 0 {
		return clip(in.Current)
	}
	if !in.HaveStats {
		return in.Current
	}
	rps := float64(in.Requests) / s.Window.Seconds()
	want := clip(int(math.Ceil(rps / s.Target)))
	since := time.Duration(math.MaxInt64)
	if in.lastScaledAt != nil {
		since = now.Sub(*in.lastScaledAt)
	}
	switch {
	case want > in.Current && in.Current == 0:
		return want
	case want > in.Current && since < s.ScaleUpDelay:
		return in.Current
	case want < in.Current && since < s.ScaleDownDelay:
		return in.Current
	}
	return want
}
