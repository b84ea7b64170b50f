package ssh_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// BenchmarkDeploy10Hosts deploys the real binary to 10 namespaced hosts in
// parallel, from fresh SSH connections, and reports the time until all 10
// shims answered their healthcheck (s/deploy10), the slowest single host,
// and a second, idempotent deploy of all 10 (s/redeploy10). Each iteration
// starts from undeployed hosts. Run: go test -run '^$' -bench Deploy10Hosts
// -benchtime 1x ./backends/ssh/
func BenchmarkDeploy10Hosts(b *testing.B) {
	const n = 10
	bin := dstackBinary(b)
	setup := time.Now()
	hosts := make([]*sshtest.Host, n)
	for i := range hosts {
		hosts[i] = sshtest.NewHost(b, sshtest.Options{})
	}
	b.Logf("created %d namespaced hosts in %s", n, time.Since(setup).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := sshfleet.DeployOptions{Binary: bin, Env: processEnv, HealthTimeout: 2 * time.Minute}

	// deployAll deploys to every host in parallel from pool and returns the
	// total and the slowest host's time.
	deployAll := func(pool *sshfleet.Pool, wantUpload bool) (total, slowest time.Duration) {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				c, err := pool.Get(ctx, h.Target())
				if err == nil {
					var info *sshfleet.HostInfo
					if info, err = sshfleet.Deploy(ctx, c, opts); err == nil {
						assert.Equal(b, wantUpload, info.Uploaded, "%s: uploaded", h.Name)
					}
				}
				if err == nil {
					err = shimHealthy(ctx, c)
				}
				assert.NoError(b, err, h.Name)

				mu.Lock()
				slowest = max(slowest, time.Since(t0))
				mu.Unlock()
			}()
		}
		wg.Wait()
		return time.Since(start), slowest
	}

	var fresh, slow, again time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pool := sshfleet.NewPool(sshfleet.PoolOptions{})
		for _, h := range hosts {
			c, err := pool.Get(ctx, h.Target())
			if err == nil {
				err = sshfleet.Undeploy(ctx, c)
			}
			require.NoError(b, err)
		}
		pool.Close()
		pool = sshfleet.NewPool(sshfleet.PoolOptions{}) // fresh connections are part of the figure
		b.StartTimer()
		total, slowest := deployAll(pool, true)
		b.StopTimer()
		redeploy, _ := deployAll(pool, false)
		pool.Close()
		fresh, slow, again = fresh+total, slow+slowest, again+redeploy
		b.Logf("iteration %d: 10 hosts deployed and healthy in %s (slowest host %s, binary %d MB); redeploy of all 10 in %s",
			i, total.Round(time.Millisecond), slowest.Round(time.Millisecond), bin.Size()>>20, redeploy.Round(time.Millisecond))
		b.StartTimer()
	}
	b.ReportMetric(fresh.Seconds()/float64(b.N), "s/deploy10")
	b.ReportMetric(slow.Seconds()/float64(b.N), "s/slowest-host")
	b.ReportMetric(again.Seconds()/float64(b.N), "s/redeploy10")
}
