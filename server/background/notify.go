package background

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dstackgo/dstack/db"
)

// notifyChannel is the PostgreSQL channel replicas wake each other on.
const notifyChannel = "dstack_wake"

// Notifier spreads wake-ups to every replica sharing a PostgreSQL
// database: a submit on one replica makes all of them claim at once, so the
// work starts without waiting for a poll, whichever replica takes it.
type Notifier struct {
	DB  *db.DB
	Sup *Supervisor
	Log *slog.Logger
}

// Wake wakes local pipelines and, on PostgreSQL, the other replicas' too.
func (n *Notifier) Wake(pipelines ...string) {
	n.Sup.Wake(pipelines...)
	if !n.DB.IsPostgres() || len(pipelines) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := n.DB.ExecContext(ctx, "SELECT pg_notify(?, ?)", notifyChannel, strings.Join(pipelines, ",")); err != nil {
		n.Log.Debug("notify replicas", "err", err)
	}
}

// Listen relays notifications to the local pipelines until ctx ends,
// reconnecting after failures. It does nothing on SQLite (one replica).
func (n *Notifier) Listen(ctx context.Context) {
	if !n.DB.IsPostgres() {
		return
	}
	for ctx.Err() == nil {
		if err := n.listen(ctx); err != nil && ctx.Err() == nil {
			n.Log.Warn("listen for other replicas' wake-ups", "err", err)
			_ = sleep(ctx, 2*time.Second)
		}
	}
}

func (n *Notifier) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, n.DB.Target.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	for {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		n.Sup.Wake(strings.Split(msg.Payload, ",")...)
	}
}
