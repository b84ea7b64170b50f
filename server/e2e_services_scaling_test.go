package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// activeReplicas counts the latest submissions of a run that are not
// finished or stopping, and those running.
func activeReplicas(r *schemas.Run) (active, running int) {
	for _, j := range r.Jobs {
		sub := j.JobSubmissions[len(j.JobSubmissions)-1]
		if !sub.Status.Finished() && sub.Status != schemas.JobTerminating {
			active++
		}
		if sub.Status == schemas.JobRunning {
			running++
		}
	}
	return active, running
}

// readyReplicas counts the running replicas whose probes passed.
func readyReplicas(r *schemas.Run) int {
	n := 0
	for _, j := range r.Jobs {
		sub := j.JobSubmissions[len(j.JobSubmissions)-1]
		if sub.Status == schemas.JobRunning && len(sub.Probes) > 0 && sub.Probes[0].SuccessStreak > 0 {
			n++
		}
	}
	return n
}

// TestServiceScalingRollingRateLimits runs, one after the other on two hosts,
// a rate-limited service, an autoscaled one, one that scales to zero and
// wakes on a request, and a rolling update under a request loop.
func TestServiceScalingRollingRateLimits(t *testing.T) {
	t.Parallel()
	app := svcApp(t)
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "scale", h1, h2))
	s.waitFleet(t, "scale", 90*time.Second, allInstances(schemas.InstanceIdle))
	exec := func(port int, extra string) []string {
		return []string{fmt.Sprintf("exec %s -port %d %s", app, port, extra)}
	}
	// apply submits a service and stops it when the subtest ends, so that
	// the next one finds both hosts free.
	apply := func(t *testing.T, name, conf string) {
		s.applyRun(t, runSpecOf(t, name, conf))
		t.Cleanup(func() {
			s.stopRun(t, true, name)
			s.waitRun(t, name, 60*time.Second, finished)
			s.waitFleet(t, "scale", 60*time.Second, allInstances(schemas.InstanceIdle))
		})
	}
	health := []any{map[string]any{"type": "http", "url": "/health", "interval": "1s"}}

	t.Run("rate limit answers 429", func(t *testing.T) {
		apply(t, "limited", serviceConf(t, map[string]any{"port": 8000, "commands": exec(8000, ""),
			"rate_limits": []any{map[string]any{"prefix": "/", "rps": 0.5, "burst": 2}}}))
		s.waitRun(t, "limited", 90*time.Second, statusIs(schemas.RunRunning))
		base := s.URL + "/proxy/services/main/limited/"
		eventually(t, 20*time.Second, "the service answers", func() error {
			if code, body := svcHello(t, base); code != http.StatusOK {
				return errUnexpected(fmt.Sprint(code, body))
			}
			return nil
		})
		// The bucket holds burst+1 = 3 and the answer above took one; at
		// 0.5 rps, of the next five at once two pass at most.
		codes := map[int]int{}
		for range 5 {
			resp, _ := proxyGet(t, base+"hello", servertest.AdminToken)
			codes[resp.StatusCode]++
		}
		require.GreaterOrEqual(t, codes[http.StatusTooManyRequests], 2, "%v", codes)
		require.LessOrEqual(t, codes[http.StatusOK], 3, "%v", codes)
		resp, body := proxyGet(t, base+"hello", servertest.AdminToken)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.JSONEq(t, `{"detail": "Too Many Requests"}`, string(body))
	})

	t.Run("RPS autoscaling up under load and down after", func(t *testing.T) {
		apply(t, "auto", serviceConf(t, map[string]any{"port": 8001, "commands": exec(8001, ""),
			"replicas": "1..2", "probes": health,
			"scaling": map[string]any{"metric": "rps", "target": 1, "window": "30s", "scale_up_delay": "1s", "scale_down_delay": "1s"}}))
		s.waitRun(t, "auto", 90*time.Second, statusIs(schemas.RunRunning))
		base := s.URL + "/proxy/services/main/auto/"
		// At most 400 requests over at most 60 s: well above 1 rps over the
		// 30 s window, so the scaler wants the maximum, 2.
		deadline := time.Now().Add(60 * time.Second)
		scaled := false
		for i := 0; i < 400 && time.Now().Before(deadline) && !scaled; i++ {
			proxyGet(t, base+"hello", servertest.AdminToken)
			if i%20 == 19 {
				r := s.waitRun(t, "auto", 5*time.Second, func(*schemas.Run) bool { return true })
				_, running := activeReplicas(r)
				scaled = running == 2
			}
		}
		r := s.waitRun(t, "auto", 60*time.Second, func(r *schemas.Run) bool { return readyReplicas(r) == 2 })
		seen := map[string]bool{}
		for range 10 {
			code, who := svcHello(t, base)
			require.Equal(t, http.StatusOK, code, who)
			seen[who] = true
		}
		require.Len(t, seen, 2, "both replicas take requests")
		require.Len(t, r.Jobs, 2)
		// Quiet: once the window holds no more than 1 rps, back to one.
		s.waitRun(t, "auto", 90*time.Second, func(r *schemas.Run) bool { a, _ := activeReplicas(r); return a == 1 })
		r = s.waitRun(t, "auto", 30*time.Second, func(r *schemas.Run) bool {
			for _, j := range r.Jobs {
				sub := j.JobSubmissions[len(j.JobSubmissions)-1]
				if sub.TerminationReason != nil && *sub.TerminationReason == string(schemas.JobScaledDown) {
					return true
				}
			}
			return false
		})
		require.Equal(t, schemas.RunRunning, r.Status)
	})

	t.Run("scale to zero and wake on the first request", func(t *testing.T) {
		apply(t, "sleepy", serviceConf(t, map[string]any{"port": 8002, "commands": exec(8002, ""),
			"replicas": "0..1", "probes": health,
			"scaling": map[string]any{"metric": "rps", "target": 1, "window": "30s", "scale_up_delay": "1s", "scale_down_delay": "1s"}}))
		s.waitRun(t, "sleepy", 90*time.Second, statusIs(schemas.RunRunning))
		base := s.URL + "/proxy/services/main/sleepy/"
		eventually(t, 20*time.Second, "the service answers", func() error {
			if code, body := svcHello(t, base); code != http.StatusOK {
				return errUnexpected(fmt.Sprint(code, body))
			}
			return nil
		})
		// Nothing for the 30 s window: no replica left, the run waits in pending.
		r := s.waitRun(t, "sleepy", 90*time.Second, func(r *schemas.Run) bool {
			a, _ := activeReplicas(r)
			return a == 0 && r.Status == schemas.RunPending
		})
		require.Len(t, r.Jobs, 1)
		time.Sleep(3 * time.Second)
		r = s.waitRun(t, "sleepy", time.Second, func(*schemas.Run) bool { return true })
		require.Equal(t, schemas.RunPending, r.Status, "a service at zero is not resubmitted by itself")
		require.Len(t, r.Jobs, 1)

		// The first request is held until a new replica passes its probe.
		start := time.Now()
		code, who := svcHello(t, base)
		require.Equal(t, http.StatusOK, code, "the first request waits for a replica: %s", who)
		t.Logf("cold start answered in %s", time.Since(start).Round(time.Millisecond))
		r = s.waitRun(t, "sleepy", 10*time.Second, statusIs(schemas.RunRunning))
		require.Len(t, r.Jobs, 2, "a new replica")
	})

	t.Run("rolling update with no failed request", func(t *testing.T) {
		conf := func(tag string) string {
			return serviceConf(t, map[string]any{"port": 8003, "commands": exec(8003, "-model "+tag),
				"probes": health})
		}
		apply(t, "roll", conf("one"))
		s.waitRun(t, "roll", 90*time.Second, statusIs(schemas.RunRunning))
		base := s.URL + "/proxy/services/main/roll/"
		eventually(t, 30*time.Second, "the service answers", func() error {
			if code, body := svcHello(t, base); code != http.StatusOK {
				return errUnexpected(fmt.Sprint(code, body))
			}
			return nil
		})

		ctx, cancel := context.WithCancel(context.Background())
		var ok, failed atomic.Int64
		var mu sync.Mutex
		var failures []string
		jobs := map[string]int{}
		var wg sync.WaitGroup
		wg.Go(func() {
			for n := 0; n < 3000 && ctx.Err() == nil; n++ {
				resp, body := proxyGet(t, base+"hello", servertest.AdminToken)
				mu.Lock()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
					var e echoed
					if json.Unmarshal(body, &e) == nil {
						jobs[e.JobID]++
					}
				} else {
					failed.Add(1)
					failures = append(failures, fmt.Sprint(resp.StatusCode, " ", string(body)))
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
		var plan schemas.RunPlan
		require.NoError(t, s.Call(context.Background(), "/api/project/main/runs/get_plan",
			schemas.GetRunPlanRequest{RunSpec: runSpecOf(t, "roll", conf("two"))}, &plan))
		require.Equal(t, "update", plan.Action, "a changed service is updated in place")
		updated := s.applyRun(t, runSpecOf(t, "roll", conf("two")))
		require.Equal(t, 1, updated.DeploymentNum)
		r := s.waitRun(t, "roll", 120*time.Second, func(r *schemas.Run) bool {
			a, running := activeReplicas(r)
			if a != 1 || running != 1 {
				return false
			}
			for _, j := range r.Jobs {
				sub := j.JobSubmissions[len(j.JobSubmissions)-1]
				if sub.Status == schemas.JobRunning && sub.DeploymentNum == 1 {
					return true
				}
			}
			return false
		})
		time.Sleep(time.Second)
		cancel()
		wg.Wait()
		require.Len(t, r.Jobs, 2, "one new replica replaced the old one")
		require.Zero(t, failed.Load(), "failed requests during the update: %v", failures)
		require.Greater(t, ok.Load(), int64(20))
		require.Len(t, jobs, 2, "requests reached the old, then the new replica: %v", jobs)
	})

	t.Run("a rollout whose new replica cannot be placed leaves the service serving", func(t *testing.T) {
		conf := func(tag string) string {
			return serviceConf(t, map[string]any{"port": 8004, "commands": exec(8004, "-model "+tag)})
		}
		apply(t, "full", conf("one"))
		s.waitRun(t, "full", 90*time.Second, statusIs(schemas.RunRunning))
		s.applyRun(t, runSpecOf(t, "blocker", `{"type": "task", "commands": ["sleep 600"]}`))
		t.Cleanup(func() { // before the service's cleanup, which waits for idle hosts
			s.stopRun(t, true, "blocker")
			s.waitRun(t, "blocker", 60*time.Second, finished)
		})
		s.waitRun(t, "blocker", 90*time.Second, statusIs(schemas.RunRunning))
		base := s.URL + "/proxy/services/main/full/"
		var old echoed
		eventually(t, 30*time.Second, "the service answers", func() error {
			resp, body := proxyGet(t, base+"hello", servertest.AdminToken)
			if resp.StatusCode != http.StatusOK {
				return errUnexpected(resp.Status + " " + string(body))
			}
			return json.Unmarshal(body, &old)
		})

		// Both hosts are taken: the new replica gets no capacity.
		updated := s.applyRun(t, runSpecOf(t, "full", conf("two")))
		require.Equal(t, 1, updated.DeploymentNum)
		s.waitRun(t, "full", 60*time.Second, func(r *schemas.Run) bool {
			for _, j := range r.Jobs {
				sub := j.JobSubmissions[len(j.JobSubmissions)-1]
				if sub.DeploymentNum == 1 && sub.Status.Finished() {
					return true
				}
			}
			return false
		})
		time.Sleep(3 * time.Second) // a few passes of the runs pipeline
		r := s.waitRun(t, "full", time.Second, func(*schemas.Run) bool { return true })
		require.Equal(t, schemas.RunRunning, r.Status, "the failed rollout does not stop the service")
		require.Len(t, r.Jobs, 2, "no more replicas are started for the failed deployment")
		for range 5 {
			resp, body := proxyGet(t, base+"hello", servertest.AdminToken)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, old.JobID, e.JobID, "the old replica still serves")
		}
	})
}
