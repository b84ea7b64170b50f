package background

import (
	"context"
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/services"
)

// Event retention defaults (upstream's DSTACK_SERVER_EVENTS_TTL_SECONDS and
// its pruning interval).
const (
	DefaultEventsTTL = 30 * 24 * time.Hour
	eventsPruneEvery = 7 * time.Minute
)

// EventsTTL deletes events older than TTL, every seven minutes. Several
// replicas may run it: a delete of what another already deleted is empty.
type EventsTTL struct {
	Env *services.Env
	Log *slog.Logger
	// TTL is how long events are kept (DefaultEventsTTL when 0).
	TTL time.Duration
}

// Run prunes until ctx ends.
func (e *EventsTTL) Run(ctx context.Context) {
	ttl := e.TTL
	if ttl <= 0 {
		ttl = DefaultEventsTTL
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := db.PruneEvents(pctx, e.Env.DB, time.Now().UTC().Add(-ttl))
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			e.Log.Warn("prune events", "err", err)
		case n > 0:
			e.Log.Info("pruned old events", "events", n, "older_than", ttl.String())
		}
		if sleep(ctx, eventsPruneEvery) != nil {
			return
		}
	}
}
