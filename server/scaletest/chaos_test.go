package scaletest_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/scaletest"
)

var (
	chaosRuns     = flag.Int("chaos.runs", 160, "runs TestChaosReplicasKilled submits")
	chaosHosts    = flag.Int("chaos.hosts", 80, "hollow hosts of TestChaosReplicasKilled (half of them busy at most)")
	chaosKill     = flag.Duration("chaos.kill-every", 10*time.Second, "how often TestChaosReplicasKilled kills a replica with -9")
	chaosDeadline = flag.Duration("chaos.deadline", 4*time.Minute, "how long TestChaosReplicasKilled may take from the first submission to the last run's end")
)

// TestChaosReplicasKilled runs three server processes on one PostgreSQL
// database, with hollow hosts served from this process, submits
// chaos.runs short tasks through whichever replica answers, and kills a
// replica with SIGKILL every chaos.kill-every (starting it again at once).
// Throughout, it checks from the database and from the agents that no
// instance holds more jobs than blocks, no job runs twice, no run is both
// active and forgotten; at the end every run must be done. It prints the
// runs lost, double placements, the time each kill's leased rows took to
// be taken over, and the total time. `make chaos` runs it.
func TestChaosReplicasKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test takes minutes")
	}
	target := dbtest.PostgresTarget(t)
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(*chaosHosts)
	require.NoError(t, err)
	scaletest.SeedFleet(t, hs, t.TempDir(), target, "hollow", hosts)
	d := dbtest.Open(t, target)
	c := newCluster(t, hs, dbtest.URL(target), 3)
	for _, r := range c.replicas {
		c.start(r)
	}

	var trackers sync.WaitGroup
	defer trackers.Wait() // after cancel: a failed test stops its trackers first
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chk := &checker{d: d, hs: hs}
	checked := make(chan struct{})
	go func() { defer close(checked); chk.run(ctx) }()

	start := time.Now()
	sub := &submitter{c: c, d: d, n: *chaosRuns, cap: *chaosHosts / 2}
	subDone := make(chan error, 1)
	go func() { subDone <- sub.run(ctx) }()

	var recoveries []time.Duration
	var recMu sync.Mutex
	kills := 0
	tick := time.NewTicker(*chaosKill)
	defer tick.Stop()
	deadline := time.Now().Add(*chaosDeadline)
	var subErr error
	submitted := false
	for {
		if time.Now().After(deadline) {
			break
		}
		if submitted {
			left, err := unfinishedRuns(ctx, d)
			require.NoError(t, err)
			if left == 0 {
				break
			}
		}
		select {
		case subErr = <-subDone:
			require.NoError(t, subErr)
			submitted = true
			t.Logf("%d runs submitted in %s", sub.n, time.Since(start).Round(time.Millisecond))
			continue
		case <-time.After(500 * time.Millisecond):
			continue
		case <-tick.C:
		}
		r := c.replicas[kills%len(c.replicas)]
		kills++
		killed := r.name
		c.kill(r)
		at := time.Now()
		held, err := leasedBy(ctx, d, killed)
		require.NoError(t, err)
		c.start(r)
		if len(held) == 0 {
			t.Logf("killed %s holding no leases", killed)
			continue
		}
		trackers.Add(1)
		go func() {
			defer trackers.Done()
			took, err := takenOver(ctx, d, held, at, time.Minute)
			recMu.Lock()
			defer recMu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("kill %s: %v", killed, err)
				}
				return
			}
			recoveries = append(recoveries, took)
			t.Logf("killed %s holding %d leased rows: taken over by the others in %s", killed, len(held), took.Round(time.Millisecond))
		}()
	}
	total := time.Since(start)
	trackers.Wait()
	cancel()
	<-checked

	status, err := runStatuses(context.Background(), d)
	require.NoError(t, err)
	lost := sub.n - status["done"]
	slices.Sort(recoveries)
	t.Logf("chaos: %d runs on %d hollow hosts, 3 replicas, %d kills: total %s (%.1f runs/s)",
		sub.n, *chaosHosts, kills, total.Round(time.Millisecond), float64(sub.n)/total.Seconds())
	t.Logf("chaos: runs lost %d (final statuses %v), double placements %d (agents: %d jobs on two hosts at once, %d tasks created twice on one host), host overbookings %d, DB invariant breaches %d",
		lost, status, chk.doubles.Load()+hs.DoubleSubmissions(), chk.doubles.Load(), hs.DoubleSubmissions(), chk.overbooked.Load(), chk.breaches.Load())
	if len(recoveries) > 0 {
		t.Logf("chaos: recovery after a kill: min %s, median %s, max %s", recoveries[0].Round(time.Millisecond),
			recoveries[len(recoveries)/2].Round(time.Millisecond), recoveries[len(recoveries)-1].Round(time.Millisecond))
	}
	for _, msg := range chk.failures() {
		t.Error(msg)
	}
	require.Zero(t, lost, "runs that did not end done: %v", status)
	require.Zero(t, hs.DoubleSubmissions(), "tasks created twice for one job on one host")
	if len(recoveries) > 0 {
		require.LessOrEqual(t, recoveries[len(recoveries)-1], 30*time.Second, "a killed replica's rows waited more than 30 s")
	}
}

// unfinishedRuns counts runs not in a final status.
func unfinishedRuns(ctx context.Context, d *db.DB) (int, error) {
	n, err := d.NewSelect().Model((*db.Run)(nil)).Where("status NOT IN ('done', 'failed', 'terminated')").Count(ctx)
	return int(n), err
}

// runStatuses counts runs per status.
func runStatuses(ctx context.Context, d *db.DB) (map[string]int, error) {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	err := d.NewSelect().Model((*db.Run)(nil)).Column("status").ColumnExpr("COUNT(*) AS n").Group("status").Scan(ctx, &rows)
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}

// submitter submits n runs through the replicas, keeping at most cap of
// them unfinished so that free hosts remain (a job that finds every host
// busy fails for lack of capacity, which is not what this test is about).
type submitter struct {
	c    *cluster
	d    *db.DB
	n    int
	cap  int
	next atomic.Int64
}

func (s *submitter) run(ctx context.Context) error {
	for i := 0; i < s.n; {
		left, err := unfinishedRuns(ctx, s.d)
		if err != nil {
			return err
		}
		if left >= s.cap {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ; i < s.n && left < s.cap; i, left = i+1, left+1 {
			if err := s.submit(ctx, fmt.Sprintf("c-%d", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// submit applies one run through the replicas in turn: a replica killed
// mid-request is replaced by the next; a run that was stored before the
// answer was lost is not submitted again.
func (s *submitter) submit(ctx context.Context, name string) error {
	var last error
	for attempt := range 30 {
		r := s.c.replicas[int(s.next.Add(1))%len(s.c.replicas)]
		if attempt > 0 {
			if _, err := r.Run(ctx, name); err == nil {
				return nil
			}
		}
		if last = r.Submit(ctx, name, "sleep 0.5"); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("submit %s through any replica: %w", name, last)
}
