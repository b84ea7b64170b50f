package db

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// queryLogger sends bun's queries to slog at debug level, failures included.
// The logged SQL has its string literals (every value bun inlines: tokens,
// sealed secrets, uploaded blobs) replaced by their length: debug logs are
// read by more people than the database.
type queryLogger struct{ log *slog.Logger }

func (queryLogger) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (q queryLogger) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if !q.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"dur", time.Since(e.StartTime), "query", redactSQL(e.Query)}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err)
	}
	q.log.DebugContext(ctx, "query", attrs...)
}

// redactSQL replaces each single-quoted literal of q (a doubled quote escapes one) by
// '<N bytes>'. Identifiers, keywords and numbers stay.
func redactSQL(q string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(q, '\'')
		if start < 0 {
			b.WriteString(q)
			return b.String()
		}
		b.WriteString(q[:start])
		n, end := 0, start+1
		for end < len(q) {
			if q[end] == '\'' {
				if end+1 < len(q) && q[end+1] == '\'' {
					n, end = n+1, end+2
					continue
				}
				break
			}
			n, end = n+1, end+1
		}
		b.WriteString("'<" + strconv.Itoa(n) + " bytes>'")
		if end >= len(q) {
			return b.String()
		}
		q = q[end+1:]
	}
}
