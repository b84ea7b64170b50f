package ssh

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("ssh pool is closed")

// PoolOptions configure a Pool; zero values mean the documented defaults.
type PoolOptions struct {
	// HostKeys pins host keys; an in-memory store by default.
	HostKeys HostKeyStore
	// DialTimeout bounds the TCP connect and the SSH handshake of each hop;
	// 10s by default.
	DialTimeout time.Duration
	// KeepaliveInterval is how often live connections are probed (and how
	// old the last successful probe may be for Get to reuse a connection
	// without probing it first); 15s by default.
	KeepaliveInterval time.Duration
	// KeepaliveTimeout is how long a probe may take before the connection
	// is declared dead and closed; 10s by default.
	KeepaliveTimeout time.Duration
	// Logger receives connection events; slog.Default() by default.
	Logger *slog.Logger
	// Observer is told of failed connections and agent requests (metrics);
	// nil ignores them.
	Observer Observer
}

// Observer counts failures; its methods must be quick and safe for
// concurrent use.
type Observer interface {
	// SSHError reports a failed SSH connection to a host.
	SSHError(kind Kind)
	// AgentError reports a request to a host's agent ("shim" or "runner")
	// that failed in transport ("unreachable") or answered 5xx ("http_5xx").
	AgentError(agent, reason string)
}

// Pool keeps one live SSH connection per Target (per user, address, key and
// jump chain), probes them with keepalive requests and replaces dead ones.
// It is safe for concurrent use.
type Pool struct {
	opts PoolOptions
	log  *slog.Logger

	mu     sync.Mutex
	conns  map[string]*poolEntry
	closed bool
}

// poolEntry is a connection, or a dial in progress (ready not yet closed).
type poolEntry struct {
	ready chan struct{}
	conn  *Conn
	err   error
}

// NewPool returns an empty pool.
func NewPool(opts PoolOptions) *Pool {
	if opts.HostKeys == nil {
		opts.HostKeys = NewMemoryHostKeyStore()
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.KeepaliveInterval <= 0 {
		opts.KeepaliveInterval = 15 * time.Second
	}
	if opts.KeepaliveTimeout <= 0 {
		opts.KeepaliveTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Pool{opts: opts, log: opts.Logger.With("component", "ssh"), conns: map[string]*poolEntry{}}
}

// Get returns a live connection to t, reusing the pooled one when it still
// answers, dialing otherwise. Concurrent callers for the same target share
// one dial. Connection failures are *Error values (see KindOf).
func (p *Pool) Get(ctx context.Context, t Target) (*Conn, error) {
	key := t.poolKey()
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		e, ok := p.conns[key]
		if !ok {
			e = &poolEntry{ready: make(chan struct{})}
			p.conns[key] = e
			p.mu.Unlock()
			return p.fill(ctx, key, e, t)
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
				continue // the other caller gave up; dial for ourselves
			}
			return nil, e.err
		}
		ok, err := e.conn.alive(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			return e.conn, nil
		}
		p.drop(key, e)
	}
}

// fill dials for the entry and publishes the result.
func (p *Pool) fill(ctx context.Context, key string, e *poolEntry, t Target) (*Conn, error) {
	start := time.Now()
	err := t.validate()
	var client *ssh.Client
	var jumps []*ssh.Client
	if err == nil {
		client, jumps, err = p.dial(ctx, t)
	}
	var c *Conn
	if err == nil {
		c = newConn(t, client, jumps, p.opts, p.log)
		p.log.Debug("SSH connected", "target", t.String(), "took", time.Since(start))
	} else {
		p.log.Debug("SSH connect failed", "target", t.String(), "err", err)
		if p.opts.Observer != nil && !errors.Is(err, context.Canceled) {
			p.opts.Observer.SSHError(KindOf(err))
		}
	}
	p.mu.Lock()
	e.conn, e.err = c, err
	if err != nil || p.closed {
		delete(p.conns, key)
	}
	closed := p.closed
	close(e.ready)
	p.mu.Unlock()
	if err == nil && closed {
		c.Close()
		return nil, ErrPoolClosed
	}
	return c, err
}

// drop removes a dead entry (if still current) and closes its connection.
func (p *Pool) drop(key string, e *poolEntry) {
	p.mu.Lock()
	if p.conns[key] == e {
		delete(p.conns, key)
	}
	p.mu.Unlock()
	e.conn.Close()
}

// Evict closes the pooled connection to t, if any; the next Get dials anew.
func (p *Pool) Evict(t Target) {
	key := t.poolKey()
	p.mu.Lock()
	e, ok := p.conns[key]
	p.mu.Unlock()
	if !ok {
		return
	}
	<-e.ready
	if e.conn != nil {
		p.drop(key, e)
	}
}

// Close closes every pooled connection; later Gets fail with ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.conns
	p.conns = map[string]*poolEntry{}
	p.mu.Unlock()
	for _, e := range entries {
		select {
		case <-e.ready:
			if e.conn != nil {
				e.conn.Close()
			}
		default: // a dial in progress closes its result itself
		}
	}
	return nil
}
