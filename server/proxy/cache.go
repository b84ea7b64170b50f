package proxy

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/dstackgo/dstack/server/services"
)

// CacheTTL is how long the proxy reuses a service's route and a token's
// membership of a project without asking the database again. Without it
// every request made about eight queries (the project, the run and its
// spec, its jobs, their instances, the token's user, the membership), and
// with 50 clients the proxy served 266-484 req/s against 4,815-6,991 req/s
// straight to the replica (BenchmarkServiceProxy, 1000 requests). So a
// revoked token, a deactivated user or a removed member loses access within
// CacheTTL, and a replica whose probe starts failing gets requests for up to
// CacheTTL more. Replicas that stop do not wait for it: see Proxy.Woken.
const CacheTTL = time.Second

// maxMembers bounds the cached memberships: past it they are all dropped
// and asked again, so that many tokens cannot grow the cache for long.
const maxMembers = 10000

// cache holds the routes and memberships Routes answered, each for
// CacheTTL. Only answers that let a request through are kept: a missing
// service, a run without a ready replica and a refused token are asked
// again each time, so that a service coming up or a new member is seen at
// once.
type cache struct {
	routes Routes
	now    func() time.Time

	mu sync.Mutex
	// gen counts the flushes: a lookup that started before one does not
	// store what it found, which may be what the flush meant to drop.
	gen     uint64
	route   map[string]cachedRoute
	members map[memberKey]time.Time // when the answer expires
}

type cachedRoute struct {
	route   *services.ServiceRoute
	expires time.Time
}

// memberKey is a project and a token's hash: the cache keeps no token.
type memberKey struct {
	project string
	token   [sha256.Size]byte
}

func newCache(routes Routes) *cache {
	return &cache{routes: routes, now: time.Now, route: map[string]cachedRoute{}, members: map[memberKey]time.Time{}}
}

// Route is Routes.Route, from the cache while a route with replicas is
// fresh. The route is shared: callers do not change it.
func (c *cache) Route(ctx context.Context, project, run string) (*services.ServiceRoute, error) {
	key := project + "/" + run
	c.mu.Lock()
	e, ok := c.route[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.route, nil
	}
	route, err := c.routes.Route(ctx, project, run)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil || len(route.Replicas) == 0:
		delete(c.route, key)
	case c.gen == gen:
		c.route[key] = cachedRoute{route: route, expires: c.now().Add(CacheTTL)}
	}
	return route, err
}

// ProjectMember is Routes.ProjectMember, from the cache while a yes is
// fresh.
func (c *cache) ProjectMember(ctx context.Context, project, token string) (bool, error) {
	key := memberKey{project: project, token: sha256.Sum256([]byte(token))}
	c.mu.Lock()
	expires, ok := c.members[key]
	c.mu.Unlock()
	if ok && c.now().Before(expires) {
		return true, nil
	}
	member, err := c.routes.ProjectMember(ctx, project, token)
	if err != nil || !member {
		return member, err
	}
	c.mu.Lock()
	if len(c.members) >= maxMembers {
		clear(c.members)
	}
	c.members[key] = c.now().Add(CacheTTL)
	c.mu.Unlock()
	return true, nil
}

// flushRoutes drops the cached routes.
func (c *cache) flushRoutes() {
	c.mu.Lock()
	c.gen++
	clear(c.route)
	c.mu.Unlock()
}

// flushRoute drops the cached route of one service.
func (c *cache) flushRoute(project, run string) {
	c.mu.Lock()
	c.gen++
	delete(c.route, project+"/"+run)
	c.mu.Unlock()
}
