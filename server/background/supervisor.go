// Package background runs the server's pipelines. Each pipeline claims a
// batch of rows with a lease (so several replicas never process one row at
// once), then processes each row: load → decide (a pure function of
// server/sched) → apply in one transaction, releasing the lease.
package background

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/dstackgo/dstack/db"
)

// Pipeline is one kind of background work over one table.
type Pipeline interface {
	// Name identifies the pipeline in logs and lease owners.
	Name() string
	// Claim says which rows to lease and for how long.
	Claim() db.Claim
	// Process handles one leased row. It must end the lease (db.ReleaseRow)
	// when done; a lease left behind expires after Claim().TTL.
	Process(ctx context.Context, id, token string) error
}

// BatchPipeline processes its whole claimed batch at once, for decisions
// that must see every row together (placing jobs without double-booking).
type BatchPipeline interface {
	Pipeline
	// ProcessBatch handles the leased rows; like Process, it ends the leases.
	ProcessBatch(ctx context.Context, ids []string, token string) error
}

// Options tune the supervisor.
type Options struct {
	// Replica distinguishes lease owners of several replicas.
	Replica string
	// Workers is the number of rows processed at once per pipeline.
	Workers int
	// ItemTimeout bounds the processing of one row.
	ItemTimeout time.Duration
	// Idle is the longest wait between claims when nothing wakes a pipeline.
	Idle time.Duration
	// OnClaim, when set, is told how many rows a pipeline claimed (metrics).
	OnClaim func(pipeline string, n int)
}

// Supervisor runs pipelines until its context ends.
type Supervisor struct {
	db    *db.DB
	log   *slog.Logger
	opts  Options
	loops map[string]*loop
}

type loop struct {
	p    Pipeline
	wake chan struct{}
}

// New makes a supervisor for the pipelines.
func New(d *db.DB, log *slog.Logger, opts Options, ps ...Pipeline) *Supervisor {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.ItemTimeout <= 0 {
		opts.ItemTimeout = 2 * time.Minute
	}
	if opts.Idle <= 0 {
		opts.Idle = 5 * time.Second
	}
	s := &Supervisor{db: d, log: log, opts: opts, loops: map[string]*loop{}}
	for _, p := range ps {
		s.loops[p.Name()] = &loop{p: p, wake: make(chan struct{}, 1)}
	}
	return s
}

// Wake makes the named pipeline claim at once instead of waiting; API
// handlers call it after a submit, stop or apply.
func (s *Supervisor) Wake(names ...string) {
	for _, n := range names {
		if l, ok := s.loops[n]; ok {
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}
}

// wakeAll wakes every pipeline.
func (s *Supervisor) wakeAll() {
	for n := range s.loops {
		s.Wake(n)
	}
}

// Run runs every pipeline until ctx ends, then waits for the rows in
// flight.
func (s *Supervisor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range s.loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx, l)
		}()
	}
	wg.Wait()
}

// backoff is how long an empty claim waits before the next one, growing as
// claims keep coming back empty; any wake cuts it short.
var backoff = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

func (s *Supervisor) run(ctx context.Context, l *loop) {
	log := s.log.With("component", "background."+l.p.Name())
	empty := 0
	for ctx.Err() == nil {
		n, err := s.claimAndProcess(ctx, l, log)
		if err != nil && ctx.Err() == nil {
			log.Error("claim", "err", err)
		}
		if n >= s.claimLimit(l.p) && err == nil {
			continue // a full batch: more is likely waiting
		}
		wait := backoff[min(empty, len(backoff)-1)]
		if n == 0 {
			empty++
		} else {
			empty = 0
			wait = backoff[0]
		}
		wait = min(wait, s.opts.Idle)
		select {
		case <-ctx.Done():
		case <-l.wake:
			empty = 0
		case <-time.After(wait):
		}
	}
}

// claimLimit is how many rows one claim takes: a row-by-row pipeline takes
// only what its workers start at once, so that no claimed row waits for a
// worker while its lease runs out; a batch pipeline works its whole batch
// at once.
func (s *Supervisor) claimLimit(p Pipeline) int {
	c := p.Claim()
	if _, ok := p.(BatchPipeline); ok {
		return c.Limit
	}
	return min(c.Limit, s.opts.Workers)
}

func (s *Supervisor) claimAndProcess(ctx context.Context, l *loop, log *slog.Logger) (int, error) {
	c := l.p.Claim()
	c.Owner = l.p.Name() + "@" + s.opts.Replica
	c.Limit = s.claimLimit(l.p)
	now, err := db.Clock(ctx, s.db)
	if err != nil {
		return 0, err
	}
	ids, token, err := db.ClaimRows(ctx, s.db, c, now)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	if s.opts.OnClaim != nil {
		s.opts.OnClaim(l.p.Name(), len(ids))
	}
	ctx, stop := s.heartbeat(ctx, log, c, token, now)
	defer stop()
	if bp, ok := l.p.(BatchPipeline); ok {
		s.guard(ctx, log, "batch", func(ctx context.Context) error { return bp.ProcessBatch(ctx, ids, token) })
		return len(ids), nil
	}
	sem := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.processOne(ctx, l.p, log, id, token)
		}()
	}
	wg.Wait()
	return len(ids), nil
}

// processOne runs one row.
func (s *Supervisor) processOne(ctx context.Context, p Pipeline, log *slog.Logger, id, token string) {
	s.guard(ctx, log, id, func(ctx context.Context) error { return p.Process(ctx, id, token) })
}

// guard runs fn with its own timeout; a panic or error is logged and never
// stops the pipeline.
func (s *Supervisor) guard(ctx context.Context, log *slog.Logger, id string, fn func(context.Context) error) {
	ictx, cancel := context.WithTimeout(ctx, s.opts.ItemTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			log.Error("processing panicked", "id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	if err := fn(ictx); err != nil && ctx.Err() == nil {
		log.Error("process", "id", id, "err", err)
	}
}
