package scaletest_test

// Benchmarks of one replica at scale on hollow hosts (figures are logged
// and reported as metrics; run each once):
//
//	go test ./server/scaletest/ -run '^$' -bench . -benchtime 1x -timeout 60m
//	go test ./server/scaletest/ -run '^$' -bench ActiveRuns -benchtime 1x -scale.runs 2000
//
// The postgres halves need DSTACK_TEST_POSTGRES_DSN.

import (
	"context"
	"database/sql"
	"flag"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
	"github.com/dstackgo/dstack/server/servertest"
)

var (
	activeRuns = flag.Int("scale.runs", 10000, "active runs (and hollow hosts) of BenchmarkActiveRuns")
	drainRuns  = flag.Int("scale.drain", 1000, "submitted runs BenchmarkDrain drains")
	steady     = flag.Duration("scale.steady", 20*time.Second, "how long BenchmarkActiveRuns watches the loops and the API")
)

// BenchmarkActiveRuns keeps scale.runs tasks running on as many hollow
// hosts and reports submit→running (apply sent → the job's commands
// started on its host) p50/p99, each pipeline's worst time between visits
// to an active row over scale.steady, runs/list p99 with 10 clients while
// the loops work, and this process's memory per active instance (server
// and hollow agents together: an upper bound of the server's share).
func BenchmarkActiveRuns(b *testing.B) {
	eachDialect(b, func(b *testing.B, target db.Target) {
		n := *activeRuns
		ctx := context.Background()
		rss0 := rssMiB(b)
		hs := scaletest.NewHosts(b, nil)
		hosts, err := hs.Add(n)
		if err != nil {
			b.Fatal(err)
		}
		rssHosts := rssMiB(b)
		dir := b.TempDir()
		start := time.Now()
		scaletest.SeedFleet(b, hs, dir, target, "hollow", hosts)
		b.Logf("%d hollow hosts: %.1f MiB; fleet seeded in %s", n, rssHosts-rss0, time.Since(start).Round(time.Millisecond))
		s := scaletest.Start(b, hs, dir, target, server.Options{})
		waitFor(b, 10*time.Minute, "every host connected", func() bool { return hs.Dials() >= int64(n) })
		rssIdle := rssMiB(b)
		d := openDB(b, target)

		start = time.Now()
		sent := submitAll(b, s, "active", n, 8, "sleep 86400")
		b.Logf("%d runs submitted in %s (%.0f runs/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
		var lat []time.Duration
		waitFor(b, 15*time.Minute, "every job started", func() bool {
			lat = lat[:0]
			for name, at := range sent {
				t, ok := hs.Started(name + "-0-0")
				if !ok {
					return false
				}
				lat = append(lat, t.Sub(at))
			}
			return true
		})
		waitFor(b, 5*time.Minute, "every run running", func() bool {
			c, err := countRuns(ctx, d, "running")
			return err == nil && c == n
		})
		slices.Sort(lat)
		rssActive := rssMiB(b)

		worst := map[string]time.Duration{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for end := time.Now().Add(*steady); time.Now().Before(end); time.Sleep(time.Second) {
				ages, err := oldestVisit(ctx, d)
				if err != nil {
					b.Error(err)
					return
				}
				for t, a := range ages {
					worst[t] = max(worst[t], a)
				}
			}
		}()
		list := listLoad(b, s.URL, 10, *steady)
		<-done

		perInstance := (rssActive - rssHosts) * 1024 / float64(n)
		b.Logf("submit→running p50 %.0f ms, p99 %.0f ms", ms(quantile(lat, .5)), ms(quantile(lat, .99)))
		b.Logf("worst time between visits: runs %s, jobs %s, instances %s", worst["runs"].Round(time.Millisecond),
			worst["jobs"].Round(time.Millisecond), worst["instances"].Round(time.Millisecond))
		b.Logf("runs/list under load: %d requests, p50 %.1f ms, p99 %.1f ms", len(list), ms(quantile(list, .5)), ms(quantile(list, .99)))
		b.Logf("RSS: start %.0f MiB, +hosts %.0f, server idle %.0f, %d active %.0f MiB (%.1f KiB per active instance, hollow agents included)",
			rss0, rssHosts, rssIdle, n, rssActive, perInstance)
		b.ReportMetric(ms(quantile(lat, .5)), "submit-running-p50-ms")
		b.ReportMetric(ms(quantile(lat, .99)), "submit-running-p99-ms")
		b.ReportMetric(ms(quantile(list, .99)), "list-p99-ms")
		b.ReportMetric(worst["jobs"].Seconds(), "jobs-worst-visit-s")
		b.ReportMetric(perInstance, "KiB/instance")
	})
}

// BenchmarkDrain submits scale.drain runs with the pipelines off, then
// starts a server with them on and reports the runs per second that reach
// a final status (each a full lifecycle on a hollow host: placement, shim
// task, runner submit and run, pulls, termination).
func BenchmarkDrain(b *testing.B) {
	eachDialect(b, func(b *testing.B, target db.Target) {
		n := *drainRuns
		hs := scaletest.NewHosts(b, nil)
		hosts, err := hs.Add(n)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		scaletest.SeedFleet(b, hs, dir, target, "hollow", hosts)
		off := scaletest.Start(b, hs, dir, target, server.Options{BackgroundDisabled: true})
		submitAll(b, off, "drain", n, 8, "true")
		if err := off.Stop(); err != nil {
			b.Fatal(err)
		}
		d := openDB(b, target)
		ctx := context.Background()
		start := time.Now()
		scaletest.Start(b, hs, dir, target, server.Options{})
		waitFor(b, 15*time.Minute, "every run finished", func() bool {
			c, err := countRuns(ctx, d, "done", "failed", "terminated")
			return err == nil && c == n
		})
		took := time.Since(start)
		failed, err := countRuns(ctx, d, "failed", "terminated")
		if err != nil || failed != 0 {
			b.Fatalf("%d runs did not end done (%v)", failed, err)
		}
		b.Logf("%d runs drained in %s: %.0f runs/s (server start included)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		b.ReportMetric(float64(n)/took.Seconds(), "runs/s")
	})
}

// BenchmarkRunsList reports runs/list of 100 finished runs (with their
// jobs) under 10 concurrent clients: requests per second and p99.
func BenchmarkRunsList(b *testing.B) {
	eachDialect(b, func(b *testing.B, target db.Target) {
		const n = 100
		hs := scaletest.NewHosts(b, nil)
		hosts, err := hs.Add(n)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		scaletest.SeedFleet(b, hs, dir, target, "hollow", hosts)
		s := scaletest.Start(b, hs, dir, target, server.Options{})
		submitAll(b, s, "list", n, 8, "echo listed")
		d := openDB(b, target)
		waitFor(b, 5*time.Minute, "every run done", func() bool {
			c, err := countRuns(context.Background(), d, "done")
			return err == nil && c == n
		})
		const window = 10 * time.Second
		lat := listLoad(b, s.URL, 10, window)
		b.Logf("runs/list of %d runs, 10 clients: %.0f req/s, p50 %.1f ms, p99 %.1f ms",
			n, float64(len(lat))/window.Seconds(), ms(quantile(lat, .5)), ms(quantile(lat, .99)))
		b.ReportMetric(float64(len(lat))/window.Seconds(), "req/s")
		b.ReportMetric(ms(quantile(lat, .99)), "p99-ms")
	})
}

// BenchmarkIdleRSS starts the release binary (`dstack server` on SQLite,
// no runs) and reports its resident memory once it has settled.
func BenchmarkIdleRSS(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(servertest.Binary(b), "server", "--dir", b.TempDir(), "--port", strconv.Itoa(port),
		"--token", servertest.AdminToken, "--no-default")
	cmd.Env = append(os.Environ(), "HOME="+b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(b, time.Minute, "the server answers", func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	time.Sleep(10 * time.Second) // a few passes of every loop
	rss := procRSS(b, strconv.Itoa(cmd.Process.Pid))
	b.Logf("idle server RSS: %.1f MiB", rss)
	b.ReportMetric(rss, "MiB")
}

// openDB opens a reading handle on the server's database: on SQLite past
// db.Open's single-server guard, read-only.
func openDB(b *testing.B, target db.Target) bun.IDB {
	if target.Dialect == db.SQLite {
		sqldb, err := sql.Open("sqlite", "file:"+target.Path+"?mode=ro&_pragma=busy_timeout(30000)")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sqldb.Close() })
		return bun.NewDB(sqldb, sqlitedialect.New())
	}
	d, err := db.Open(context.Background(), target, db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
