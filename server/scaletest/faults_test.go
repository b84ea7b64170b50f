package scaletest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestHungAgentIsReportedAndSparesTheOthers: a host whose agents stop
// answering mid-request is reported unreachable with the reason, while a
// run on another host is stopped as usual; once the host answers again,
// its run is still running and its host reachable.
func TestHungAgentIsReportedAndSparesTheOthers(t *testing.T) {
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(2)
	require.NoError(t, err)
	dir, target := t.TempDir(), dbtest.SQLiteTarget(t)
	scaletest.SeedFleet(t, hs, dir, target, "hollow", hosts)
	s := scaletest.Start(t, hs, dir, target, server.Options{})
	ctx := context.Background()
	require.NoError(t, s.Submit(ctx, "hung", "sleep 600"))
	waitRun(t, s, "hung", time.Minute, func(r *schemas.Run) bool { return r.Status == schemas.RunRunning })
	require.NoError(t, s.Submit(ctx, "other", "sleep 600"))
	waitRun(t, s, "other", time.Minute, func(r *schemas.Run) bool { return r.Status == schemas.RunRunning })

	hung := hostOf(t, s, "hung", hosts)
	hung.Hang(true)
	waitFleet(t, s, 90*time.Second, func(f *schemas.Fleet) bool {
		for _, in := range f.Instances {
			if in.Hostname != nil && *in.Hostname == hung.IP {
				return in.Unreachable && in.StatusMessage != nil && strings.Contains(*in.StatusMessage, "stopped answering")
			}
		}
		return false
	})
	require.NoError(t, s.Call(ctx, "/api/project/main/runs/stop", schemas.StopRunsRequest{RunsNames: []string{"other"}, Abort: true}, nil))
	waitRun(t, s, "other", time.Minute, func(r *schemas.Run) bool { return r.Status.Finished() })

	hung.Hang(false)
	waitFleet(t, s, time.Minute, func(f *schemas.Fleet) bool {
		for _, in := range f.Instances {
			if in.Hostname != nil && *in.Hostname == hung.IP {
				return !in.Unreachable
			}
		}
		return false
	})
	r, err := s.Run(ctx, "hung")
	require.NoError(t, err)
	require.Equal(t, schemas.RunRunning, r.Status, errorOf(r))
	require.Zero(t, hs.DoubleSubmissions())
}

func waitRun(t *testing.T, s *scaletest.Server, name string, timeout time.Duration, cond func(*schemas.Run) bool) {
	t.Helper()
	var r *schemas.Run
	var err error
	require.Eventually(t, func() bool {
		r, err = s.Run(context.Background(), name)
		return err == nil && cond(r)
	}, timeout, 100*time.Millisecond, "run %s: last %+v, err %v", name, r, err)
}

func waitFleet(t *testing.T, s *scaletest.Server, timeout time.Duration, cond func(*schemas.Fleet) bool) {
	t.Helper()
	name := "hollow"
	var f schemas.Fleet
	require.Eventually(t, func() bool {
		f = schemas.Fleet{}
		err := s.Call(context.Background(), "/api/project/main/fleets/get", schemas.GetFleetRequest{Name: &name}, &f)
		return err == nil && cond(&f)
	}, timeout, 200*time.Millisecond, "fleet: last %+v", f.Instances)
}

// hostOf is the hollow host a run's job was placed on.
func hostOf(t *testing.T, s *scaletest.Server, run string, hosts []*scaletest.Host) *scaletest.Host {
	t.Helper()
	r, err := s.Run(context.Background(), run)
	require.NoError(t, err)
	require.NotNil(t, r.LatestJobSubmission)
	jpd := r.LatestJobSubmission.JobProvisioningData
	require.NotNil(t, jpd)
	for _, h := range hosts {
		if jpd.Hostname != nil && *jpd.Hostname == h.IP {
			return h
		}
	}
	t.Fatalf("run %s is on no hollow host", run)
	return nil
}
