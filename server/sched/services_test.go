package sched

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestDecideService(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	long := now.Add(-time.Hour)
	auto := Scaler{Min: 0, Max: 2, Target: 1, Window: 30 * time.Second, ScaleUpDelay: 5 * time.Second, ScaleDownDelay: 5 * time.Second}
	running := ServiceReplica{Num: 0, Active: true, Ready: true, SubmittedAt: long, LastProcessedAt: long}
	down := ServiceReplica{Num: 0, ScaledDown: true, SubmittedAt: long, LastProcessedAt: long}
	pendingPath := []schemas.RunStatus{schemas.RunPending}
	tests := []struct {
		name     string
		run      RunSnapshot
		d        RunDecision
		s        ServiceScale
		wantD    RunDecision
		wantPlan ReplicaPlan
		desired  int
	}{
		{"idle service scales to zero", RunSnapshot{Status: schemas.RunRunning}, RunDecision{},
			ServiceScale{Scaler: auto, Current: 1, HaveStats: true, Replicas: []ServiceReplica{running}},
			RunDecision{}, ReplicaPlan{Stop: []int{0}}, 0},
		{"all scaled down: pending, no resubmission", RunSnapshot{Status: schemas.RunRunning, ResubmissionAttempt: 0},
			RunDecision{Path: pendingPath, ResubmissionAttempt: 1, ClearFleet: true},
			ServiceScale{Scaler: auto, Current: 0, HaveStats: true, Replicas: []ServiceReplica{down}},
			RunDecision{Path: pendingPath}, ReplicaPlan{}, 0},
		{"pending at zero stays", RunSnapshot{Status: schemas.RunPending},
			RunDecision{Path: []schemas.RunStatus{schemas.RunSubmitted}, Resubmit: []int{0}, ClearFleet: true},
			ServiceScale{Scaler: auto, Current: 0, HaveStats: true, Replicas: []ServiceReplica{down}},
			RunDecision{}, ReplicaPlan{}, 0},
		{"a request wakes it", RunSnapshot{Status: schemas.RunPending}, RunDecision{},
			ServiceScale{Scaler: auto, Current: 0, Requests: 1, HaveStats: true, Replicas: []ServiceReplica{down}},
			RunDecision{Path: []schemas.RunStatus{schemas.RunSubmitted}}, ReplicaPlan{Add: 1}, 1},
		{"pending for a retry is left alone", RunSnapshot{Status: schemas.RunPending}, RunDecision{Resubmit: []int{0}},
			ServiceScale{Scaler: auto, Current: 1, Requests: 100, HaveStats: true,
				Replicas: []ServiceReplica{{Num: 0, SubmittedAt: long, LastProcessedAt: long}}},
			RunDecision{Resubmit: []int{0}}, ReplicaPlan{}, 1},
		{"a stopping run is not scaled", RunSnapshot{Status: schemas.RunTerminating}, RunDecision{},
			ServiceScale{Scaler: auto, Current: 1, Requests: 1000, HaveStats: true, Replicas: []ServiceReplica{running}},
			RunDecision{}, ReplicaPlan{}, 1},
		{"load scales up", RunSnapshot{Status: schemas.RunRunning}, RunDecision{},
			ServiceScale{Scaler: auto, Current: 1, Requests: 60, HaveStats: true, Replicas: []ServiceReplica{running}},
			RunDecision{}, ReplicaPlan{Add: 1}, 2},
		{"a new deployment rolls", RunSnapshot{Status: schemas.RunRunning}, RunDecision{},
			ServiceScale{Scaler: Scaler{Min: 1, Max: 1}, Current: 1, Deployment: 1, Replicas: []ServiceReplica{running}},
			RunDecision{}, ReplicaPlan{Add: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, sd := DecideService(tt.run, tt.d, tt.s, now)
			require.Equal(t, tt.wantD, d)
			require.Equal(t, tt.wantPlan, sd.Plan)
			require.Equal(t, tt.desired, sd.Desired)
		})
	}
}
