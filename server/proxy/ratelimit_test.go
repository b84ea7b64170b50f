package proxy

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestRateLimits(t *testing.T) {
	hdr := "X-Api-Key"
	limits := []schemas.RateLimit{
		{Prefix: "/", Key: schemas.RateLimitKey{Type: "ip_address"}, RPS: 2, Burst: 1},
		{Prefix: "/api/", Key: schemas.RateLimitKey{Type: "header", Header: &hdr}, RPS: 1, Burst: 0},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := func(ip, key string) *httptestRequest { return &httptestRequest{ip, key} }
	var l limiters
	check := func(at time.Duration, path string, r *httptestRequest, want bool) {
		t.Helper()
		hr := httptest.NewRequest("GET", path, nil)
		hr.RemoteAddr = r.ip + ":5555"
		if r.key != "" {
			hr.Header.Set(hdr, r.key)
		}
		require.Equal(t, want, l.allow("run", limits, path, hr, t0.Add(at)), "%s %s at %s", r.ip, path, at)
	}
	// burst 1 at 2 rps: two at once, the third refused, one more after 0.5 s.
	check(0, "/a", req("10.0.0.1", ""), true)
	check(0, "/a", req("10.0.0.1", ""), true)
	check(0, "/a", req("10.0.0.1", ""), false)
	check(0, "/b", req("10.0.0.2", ""), true) // another client has its own bucket
	check(500*time.Millisecond, "/a", req("10.0.0.1", ""), true)
	check(500*time.Millisecond, "/a", req("10.0.0.1", ""), false)
	// The longest prefix wins: /api/ is limited per header value, 1 rps, no burst.
	check(0, "/api/x", req("10.0.0.1", "k1"), true)
	check(0, "/api/x", req("10.0.0.1", "k1"), false)
	check(0, "/api/x", req("10.0.0.1", "k2"), true)
	check(0, "/api/x", req("10.0.0.1", ""), true) // no key: not limited
	check(0, "/api/x", req("10.0.0.1", ""), true)
	check(time.Second, "/api/x", req("10.0.0.1", "k1"), true)
	// Another run's limits do not share buckets.
	hr := httptest.NewRequest("GET", "/api/x", nil)
	hr.Header.Set(hdr, "k1")
	require.True(t, l.allow("other", limits, "/api/x", hr, t0.Add(time.Second)))
	// Idle buckets, full again, are swept.
	l.allow("run", limits, "/a", hr, t0.Add(time.Hour))
	require.Len(t, l.buckets, 1)
}

type httptestRequest struct{ ip, key string }
