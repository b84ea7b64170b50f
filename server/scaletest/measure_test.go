package scaletest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/scaletest"
)

// eachDialect runs fn on SQLite and, when DSTACK_TEST_POSTGRES_DSN is set,
// on a fresh PostgreSQL database.
func eachDialect(b *testing.B, fn func(b *testing.B, target db.Target)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLiteTarget(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv("DSTACK_TEST_POSTGRES_DSN") == "" && os.Getenv("CI") != "true" {
			b.Skip("DSTACK_TEST_POSTGRES_DSN is not set")
		}
		fn(b, dbtest.PostgresTarget(b))
	})
}

// rssMiB is this process's resident set after a GC that returns freed
// memory to the OS.
func rssMiB(b *testing.B) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	return procRSS(b, "self")
}

// procRSS reads VmRSS of /proc/<pid>/status in MiB.
func procRSS(b *testing.B, pid string) float64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/" + pid + "/status")
	return 0
}

// quantile of sorted durations (q in 0..1).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// submitAll submits n tasks named prefix-i with workers concurrent clients
// and returns when each apply was sent.
func submitAll(b *testing.B, s *scaletest.Server, prefix string, n, workers int, commands ...string) map[string]time.Time {
	ctx := context.Background()
	sent := make(map[string]time.Time, n)
	var mu sync.Mutex
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := fmt.Sprintf("%s-%d", prefix, i)
				at := time.Now()
				if err := s.Submit(ctx, name, commands...); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				sent[name] = at
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			b.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return sent
}

// countRuns counts runs with one of the statuses.
func countRuns(ctx context.Context, d bun.IDB, statuses ...string) (int, error) {
	n, err := d.NewSelect().Model((*db.Run)(nil)).Where("status IN (?)", bun.In(statuses)).Count(ctx)
	return int(n), err
}

// oldestVisit is how long ago the least recently processed active row of
// each pipeline's table was processed.
func oldestVisit(ctx context.Context, d bun.IDB) (map[string]time.Duration, error) {
	active := map[string][]string{
		"runs":      {"pending", "submitted", "provisioning", "running", "terminating"},
		"jobs":      {"submitted", "provisioning", "pulling", "running", "terminating"},
		"instances": {"pending", "idle", "busy", "terminating"},
	}
	out := map[string]time.Duration{}
	for table, statuses := range active {
		var last []time.Time
		err := d.NewSelect().Table(table).Column("last_processed_at").Where("status IN (?)", bun.In(statuses)).
			Order("last_processed_at").Limit(1).Scan(ctx, &last)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		if len(last) > 0 {
			out[table] = time.Since(last[0])
		}
	}
	return out, nil
}

// listLoad runs clients concurrent runs/list callers (100 runs with their
// jobs, as `dstack ps` asks) for d, reading answers into io.Discard, and
// returns the sorted latencies.
func listLoad(b *testing.B, url string, clients int, d time.Duration) []time.Duration {
	body := []byte(`{"project_name": "main", "only_active": false, "include_jobs": true, "job_submissions_limit": 1, "limit": 100}`)
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var mu sync.Mutex
	var all []time.Duration
	var failed error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, url+"/api/runs/list", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+scaletest.AdminToken)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				res, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("runs/list: %s", res.Status)
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(all)
	return all
}
