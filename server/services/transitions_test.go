package services

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

func TestSetJobStatus(t *testing.T) {
	tests := []struct {
		name    string
		from    schemas.JobStatus
		path    []schemas.JobStatus
		want    schemas.JobStatus
		refused bool
	}{
		{"one step", schemas.JobSubmitted, []schemas.JobStatus{schemas.JobProvisioning}, schemas.JobProvisioning, false},
		{"several steps in one pass", schemas.JobProvisioning,
			[]schemas.JobStatus{schemas.JobPulling, schemas.JobRunning, schemas.JobTerminating}, schemas.JobTerminating, false},
		{"staying is no step", schemas.JobTerminating, []schemas.JobStatus{schemas.JobTerminating}, schemas.JobTerminating, false},
		{"a terminating job does not run again", schemas.JobTerminating, []schemas.JobStatus{schemas.JobRunning},
			schemas.JobTerminating, true},
		{"a forbidden step leaves the row alone", schemas.JobPulling,
			[]schemas.JobStatus{schemas.JobRunning, schemas.JobDone}, schemas.JobPulling, true},
		{"a final status is never left", schemas.JobDone, []schemas.JobStatus{schemas.JobSubmitted}, schemas.JobDone, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &db.Job{JobName: "run-0-0", Status: string(tt.from)}
			err := SetJobStatus(j, tt.path...)
			if tt.refused {
				require.ErrorIs(t, err, ErrForbiddenTransition)
				require.ErrorContains(t, err, "job run-0-0 cannot go from")
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, string(tt.want), j.Status)
		})
	}
}

func TestSetRunInstanceFleetStatus(t *testing.T) {
	r := &db.Run{RunName: "r", Status: string(schemas.RunRunning)}
	require.ErrorIs(t, SetRunStatus(r, schemas.RunDone), ErrForbiddenTransition)
	require.NoError(t, SetRunStatus(r, schemas.RunTerminating, schemas.RunDone))
	require.Equal(t, string(schemas.RunDone), r.Status)

	in := &db.Instance{Name: "f-0", Status: string(schemas.InstanceTerminating)}
	require.ErrorIs(t, SetInstanceStatus(in, schemas.InstanceIdle), ErrForbiddenTransition)
	require.NoError(t, SetInstanceStatus(in, schemas.InstanceTerminated))
	require.Equal(t, string(schemas.InstanceTerminated), in.Status)

	f := &db.Fleet{Name: "f", Status: string(schemas.FleetActive)}
	require.ErrorIs(t, SetFleetStatus(f, schemas.FleetTerminated), ErrForbiddenTransition)
	require.NoError(t, SetFleetStatus(f, schemas.FleetTerminating))
	require.NoError(t, SetFleetStatus(f, schemas.FleetTerminating))
	require.Equal(t, string(schemas.FleetTerminating), f.Status)
}

func TestEventTimesFollowTheOrderOfChanges(t *testing.T) {
	prev := nowMicro()
	for range 1000 {
		next := nowMicro()
		require.True(t, next.After(prev), "%s after %s", next, prev)
		require.Equal(t, next, next.Truncate(time.Microsecond))
		prev = next
	}
}
