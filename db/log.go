package db

import (
	"context"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
)

// queryLogger sends bun's queries to slog at debug level, failures included.
type queryLogger struct{ log *slog.Logger }

func (queryLogger) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (q queryLogger) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if !q.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"dur", time.Since(e.StartTime), "query", e.Query}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err)
	}
	q.log.DebugContext(ctx, "query", attrs...)
}
