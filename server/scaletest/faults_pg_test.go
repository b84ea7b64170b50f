package scaletest_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
)

// TestServerRidesOutPostgresFaults runs tasks on a server whose private
// PostgreSQL first drops every connection (pg_terminate_backend), then
// crashes (immediate stop) and comes back, while runs are submitted and
// worked. The server keeps going: submissions refused meanwhile succeed
// when retried, every run ends done, no job is started twice, no invariant
// breaks, and the server listens for other replicas' wake-ups again.
func TestServerRidesOutPostgresFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a PostgreSQL cluster")
	}
	pg := startPrivatePG(t)
	target := pg.Target()
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(20)
	require.NoError(t, err)
	dir := t.TempDir()
	scaletest.SeedFleet(t, hs, dir, target, "hollow", hosts)
	logs := &syncBuffer{}
	s := scaletest.Start(t, hs, dir, target, server.Options{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const n = 40
	var refused int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watch := openFresh(t, target)
		defer watch.Close()
		for i := range n {
			name := fmt.Sprintf("pg-%d", i)
			// Half the hosts busy at most: a job finding every host busy
			// fails for lack of capacity, which is not this test's point.
			for ctx.Err() == nil {
				if left, err := unfinishedRuns(ctx, watch); err == nil && left < len(hosts)/2 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			for ctx.Err() == nil {
				if _, err := s.Run(ctx, name); err == nil {
					break // stored before its answer was lost
				}
				if err := s.Submit(ctx, name, "sleep 1"); err == nil {
					break
				}
				refused++
				time.Sleep(200 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()

	time.Sleep(4 * time.Second)
	d := openFresh(t, target)
	_, err = d.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()")
	require.NoError(t, err)
	d.Close()
	time.Sleep(4 * time.Second)
	pg.crash()
	downErr := s.Submit(ctx, "while-down", "sleep 1")
	require.Error(t, downErr, "a run was accepted without a database")
	time.Sleep(3 * time.Second) // the server works on without its database
	pg.start()
	wg.Wait()

	d = openFresh(t, target)
	defer d.Close()
	chk := &checker{d: d, hs: hs}
	chk.seen = map[string]bool{}
	require.Eventually(t, func() bool {
		left, err := unfinishedRuns(ctx, d)
		chk.check(ctx)
		return err == nil && left == 0
	}, 3*time.Minute, 500*time.Millisecond, "runs still unfinished after the database came back")
	status, err := runStatuses(ctx, d)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"done": n}, status, "jobs not done: %v", notDone(t, d))
	require.Empty(t, chk.failures())
	require.Zero(t, hs.DoubleSubmissions())
	require.Eventually(t, func() bool {
		c, err := d.NewSelect().TableExpr("pg_stat_activity").Where("query = 'LISTEN dstack_wake'").Count(ctx)
		return err == nil && c == 1
	}, time.Minute, 200*time.Millisecond, "the server does not listen for wake-ups again")
	_, err = s.Run(ctx, "while-down")
	require.Error(t, err, "the run refused while the database was down exists")
	require.Contains(t, string(logs.Bytes()), "connection refused", "the server's log does not name the database failure")
	t.Logf("%d runs done across a dropped-connections fault and a PostgreSQL crash; %d submissions retried; the apply sent while it was down: %v",
		n, refused, downErr)
}

// openFresh opens the database without migrating it.
func openFresh(t *testing.T, target db.Target) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), target, db.Options{})
	require.NoError(t, err)
	return d
}

// notDone describes the jobs that did not end done: name, status, reason
// and message.
func notDone(t *testing.T, d *db.DB) []string {
	var jobs []db.Job
	require.NoError(t, d.NewSelect().Model(&jobs).Where("status <> 'done'").Scan(context.Background()))
	out := make([]string, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, fmt.Sprintf("%s %s %s %s", j.JobName, j.Status, deref(j.TerminationReason), deref(j.TerminationReasonMessage)))
	}
	var ins []db.Instance
	require.NoError(t, d.NewSelect().Model(&ins).Scan(context.Background()))
	for _, in := range ins {
		out = append(out, fmt.Sprintf("instance %s %s busy %d/%d unreachable %v health %s", in.Name, in.Status, in.BusyBlocks, in.TotalBlocks, in.Unreachable, in.Health))
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
