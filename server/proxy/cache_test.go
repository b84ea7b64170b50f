package proxy

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/services"
)

// countingRoutes answers from its fields and counts the lookups.
type countingRoutes struct {
	replicas     int
	member       bool
	routeCalls   int
	memberCalls  int
	duringLookup func()
}

func (r *countingRoutes) Route(_ context.Context, project, run string) (*services.ServiceRoute, error) {
	r.routeCalls++
	if r.duringLookup != nil {
		r.duringLookup()
	}
	return &services.ServiceRoute{RunID: project + "/" + run, Replicas: make([]services.ServiceReplica, r.replicas)}, nil
}

func (r *countingRoutes) Models(context.Context, string) ([]services.ModelRoute, error) {
	return nil, nil
}

func (r *countingRoutes) ProjectMember(context.Context, string, string) (bool, error) {
	r.memberCalls++
	return r.member, nil
}

func (r *countingRoutes) Requested(string, bool) {}

// testCache is a cache over routes whose clock the test moves.
func testCache(routes *countingRoutes) (*cache, *time.Time) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(routes)
	c.now = func() time.Time { return now }
	return c, &now
}

func TestCacheRoutes(t *testing.T) {
	ctx := context.Background()
	routes := &countingRoutes{replicas: 1}
	c, now := testCache(routes)
	for range 3 {
		r, err := c.Route(ctx, "p", "svc")
		require.NoError(t, err)
		require.Len(t, r.Replicas, 1)
	}
	require.Equal(t, 1, routes.routeCalls, "a fresh route is reused")

	*now = now.Add(CacheTTL)
	_, _ = c.Route(ctx, "p", "svc")
	require.Equal(t, 2, routes.routeCalls, "looked up again after CacheTTL")

	c.flushRoutes()
	_, _ = c.Route(ctx, "p", "svc")
	require.Equal(t, 3, routes.routeCalls, "looked up again after a flush")

	// A flush during a lookup: what the lookup found is not kept.
	c.flushRoutes()
	routes.duringLookup = c.flushRoutes
	_, _ = c.Route(ctx, "p", "svc")
	routes.duringLookup = nil
	_, _ = c.Route(ctx, "p", "svc")
	require.Equal(t, 5, routes.routeCalls)

	// A run without a ready replica is asked each time, and drops what
	// was cached of it.
	*now = now.Add(CacheTTL)
	routes.replicas = 0
	for range 2 {
		r, err := c.Route(ctx, "p", "svc")
		require.NoError(t, err)
		require.Empty(t, r.Replicas)
	}
	require.Equal(t, 7, routes.routeCalls)
	require.Empty(t, c.route)
}

func TestCacheMembers(t *testing.T) {
	ctx := context.Background()
	routes := &countingRoutes{member: true}
	c, now := testCache(routes)
	for range 3 {
		ok, err := c.ProjectMember(ctx, "p", "token")
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, 1, routes.memberCalls)
	_, _ = c.ProjectMember(ctx, "q", "token")
	_, _ = c.ProjectMember(ctx, "p", "other")
	require.Equal(t, 3, routes.memberCalls, "per project and token")

	// Revoked: refused once the cached yes is CacheTTL old.
	routes.member = false
	ok, _ := c.ProjectMember(ctx, "p", "token")
	require.True(t, ok, "within CacheTTL")
	*now = now.Add(CacheTTL)
	for range 2 {
		ok, _ = c.ProjectMember(ctx, "p", "token")
		require.False(t, ok)
	}
	require.Equal(t, 5, routes.memberCalls, "a no is asked again each time")

	// Past maxMembers the memberships are dropped, not grown.
	routes.member = true
	for i := range maxMembers + 1 {
		_, _ = c.ProjectMember(ctx, "p", string(rune(i)))
	}
	require.LessOrEqual(t, len(c.members), maxMembers)
}

func TestWokenFlushesRoutes(t *testing.T) {
	routes := &countingRoutes{replicas: 1}
	p := New(routes, nil, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	_, _ = p.cache.Route(ctx, "p", "svc")
	p.Woken(services.PipelineJobs)
	_, _ = p.cache.Route(ctx, "p", "svc")
	require.Equal(t, 1, routes.routeCalls, "submitted jobs change no route")
	p.Woken(services.PipelineJobs, services.PipelineTerminate)
	_, _ = p.cache.Route(ctx, "p", "svc")
	require.Equal(t, 2, routes.routeCalls)
	p.Woken(services.PipelineRuns)
	_, _ = p.cache.Route(ctx, "p", "svc")
	require.Equal(t, 3, routes.routeCalls)
}
