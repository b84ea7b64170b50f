package server_test

// Benchmarks of the service proxy on a namespaced host: the same request to
// the replica through an SSH tunnel of the benchmark's own (direct) and
// through the server's proxy, which adds the service lookup, the token
// check and one more HTTP hop on loopback.
//
//	go test ./server -run '^$' -bench BenchmarkServiceProxy -benchtime 2000x

import (
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

func BenchmarkServiceProxy(b *testing.B) {
	app := svcApp(b)
	h := sshtest.NewHost(b, sshtest.Options{})
	s := startServer(b, server.Options{})
	s.applyFleet(b, sshFleetSpec(b, "bench", h))
	s.waitFleet(b, "bench", 90*time.Second, allInstances(schemas.InstanceIdle))
	s.applyRun(b, runSpecOf(b, "bench", `{"type": "service", "port": 8000, "commands": ["exec `+app+` -port 8000"]}`))
	s.waitRun(b, "bench", 90*time.Second, statusIs(schemas.RunRunning))
	proxied := s.URL + "/proxy/services/main/bench/hello"
	eventually(b, 20*time.Second, "the service answers", func() error {
		resp, body := proxyGet(b, proxied, servertest.AdminToken)
		if resp.StatusCode != http.StatusOK {
			return errUnexpected(resp.Status + " " + string(body))
		}
		return nil
	})

	pool := sshfleet.NewPool(sshfleet.PoolOptions{})
	b.Cleanup(func() { _ = pool.Close() })
	conn, err := pool.Get(context.Background(), h.Target())
	require.NoError(b, err)
	tunnel := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return conn.Dial(ctx, "tcp", "127.0.0.1:8000")
		},
		MaxIdleConnsPerHost: 64,
	}}
	local := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cases := []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"direct", tunnel, "http://replica/hello"},
		{"proxy", local, proxied},
	}
	for _, c := range cases {
		b.Run(c.name+"/sequential", func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				benchGet(b, c.client, c.url)
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
		b.Run(c.name+"/50-clients", func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range 50 {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						benchGet(b, c.client, c.url)
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// benchGet makes one request and reads the answer.
func benchGet(b *testing.B, c *http.Client, url string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+servertest.AdminToken)
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %s", resp.Status)
	}
}
