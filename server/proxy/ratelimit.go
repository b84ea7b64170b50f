package proxy

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// limiters keeps the token buckets of every service's rate limits: one
// bucket per run, limit (by prefix) and key (the client's IP address or a
// header's value).
type limiters struct {
	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	swept   time.Time
}

type bucketKey struct {
	run, prefix, key string
}

// bucket is a token bucket: it holds up to burst+1 requests and refills at
// rps, as upstream's limit_req with burst and nodelay admits at once up to
// burst requests above the rate.
type bucket struct {
	tokens, capacity, rps float64
	at                    time.Time
}

// refill adds the tokens earned since the bucket was last used.
func (b *bucket) refill(now time.Time) {
	b.tokens = min(b.capacity, b.tokens+now.Sub(b.at).Seconds()*b.rps)
	b.at = now
}

// sweepEvery is how often buckets full again (idle clients) are dropped.
const sweepEvery = time.Minute

// allow reports whether a request to a run is admitted by its rate limits:
// the limit of the longest prefix matching the request's path (as upstream's
// locations) applies. A header key missing from the request is not limited,
// as upstream's empty key.
func (l *limiters) allow(runID string, limits []schemas.RateLimit, path string, r *http.Request, now time.Time) bool {
	var rl *schemas.RateLimit
	for i := range limits {
		if strings.HasPrefix(path, limits[i].Prefix) && (rl == nil || len(limits[i].Prefix) > len(rl.Prefix)) {
			rl = &limits[i]
		}
	}
	if rl == nil {
		return true
	}
	key := clientIP(r)
	if rl.Key.Type == "header" && rl.Key.Header != nil {
		key = r.Header.Get(*rl.Key.Header)
		if key == "" {
			return true
		}
	}
	capacity := float64(rl.Burst + 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[bucketKey]*bucket{}
	}
	if now.Sub(l.swept) > sweepEvery {
		l.sweep(now)
	}
	k := bucketKey{runID, rl.Prefix, key}
	b, ok := l.buckets[k]
	if !ok {
		b = &bucket{tokens: capacity, at: now}
		l.buckets[k] = b
	}
	b.capacity, b.rps = capacity, rl.RPS // the service may have been updated
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have been idle long enough to be full again: a
// new bucket starts full, so forgetting them changes nothing.
func (l *limiters) sweep(now time.Time) {
	l.swept = now
	for k, b := range l.buckets {
		if b.refill(now); b.tokens >= b.capacity {
			delete(l.buckets, k)
		}
	}
}

// clientIP is the address of the client that sent the request to the
// server.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
