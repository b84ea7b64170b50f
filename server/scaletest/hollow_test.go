package scaletest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestHollowHostsRunTasks runs tasks on hollow hosts through the real
// pipelines: they end done, failed with the script's exit code, or with
// the hollow host's message for a command it cannot run; every host is
// idle again with no task left.
func TestHollowHostsRunTasks(t *testing.T) {
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(3)
	require.NoError(t, err)
	dir, target := t.TempDir(), dbtest.SQLiteTarget(t)
	scaletest.SeedFleet(t, hs, dir, target, "hollow", hosts)
	s := scaletest.Start(t, hs, dir, target, server.Options{})
	ctx := context.Background()
	cases := []struct {
		name, cmd string
		want      schemas.RunStatus
		msg       string
	}{
		{"ok", "sleep 0.2 && echo hello", schemas.RunDone, ""},
		{"exit", "exit 3", schemas.RunFailed, "exit status 3"},
		{"unknown", "python train.py", schemas.RunFailed, `cannot run "python train.py"`},
	}
	for _, c := range cases {
		require.NoError(t, s.Submit(ctx, c.name, c.cmd))
	}
	for _, c := range cases {
		var run *schemas.Run
		require.Eventually(t, func() bool {
			run, err = s.Run(ctx, c.name)
			return err == nil && run.Status.Finished()
		}, time.Minute, 50*time.Millisecond, "run %s", c.name)
		require.Equal(t, c.want, run.Status, "run %s: %s", c.name, errorOf(run))
		require.Contains(t, errorOf(run), c.msg, "run %s", c.name)
	}
	require.Eventually(t, func() bool {
		for _, h := range hosts {
			if h.LiveTasks() != 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond)
	require.Zero(t, hs.DoubleSubmissions())
}

// errorOf is what a user reads about a run's end.
func errorOf(r *schemas.Run) string {
	sub := r.LatestJobSubmission
	if sub == nil {
		return ""
	}
	msg := sub.StatusMessage
	if sub.TerminationReasonMessage != nil {
		msg += ": " + *sub.TerminationReasonMessage
	}
	if sub.ExitStatus != nil {
		msg += fmt.Sprintf(" (exit status %d)", *sub.ExitStatus)
	}
	return msg
}
