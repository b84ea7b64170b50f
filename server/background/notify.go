package background

import (
	"context"
	"errors"
	"fmt"
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
	// Woken, when set, is told of each wake-up, this replica's and the
	// others', before the pipelines are woken (the service proxy drops
	// its cached routes on those that mean replicas come or go).
	Woken func(pipelines ...string)
}

// Wake wakes local pipelines and, on PostgreSQL, the other replicas' too.
func (n *Notifier) Wake(pipelines ...string) {
	n.wakeLocal(pipelines...)
	if !n.DB.IsPostgres() || len(pipelines) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := n.DB.ExecContext(ctx, "SELECT pg_notify(?, ?)", notifyChannel, strings.Join(pipelines, ",")); err != nil {
		n.Log.Debug("notify replicas", "err", err)
	}
}

// wakeLocal tells Woken and wakes this replica's pipelines.
func (n *Notifier) wakeLocal(pipelines ...string) {
	if n.Woken != nil {
		n.Woken(pipelines...)
	}
	n.Sup.Wake(pipelines...)
}

// Listen relays notifications to the local pipelines until ctx ends,
// reconnecting after failures. It does nothing on SQLite (one replica).
func (n *Notifier) Listen(ctx context.Context) {
	if !n.DB.IsPostgres() {
		return
	}
	for first := true; ctx.Err() == nil; first = false {
		err := n.listen(ctx, !first)
		if err != nil && ctx.Err() == nil {
			n.Log.Warn("listen for other replicas' wake-ups", "err", err)
			_ = sleep(ctx, 2*time.Second)
		}
	}
}

// listenCheck is how long the listening connection may stay silent before
// it is pinged: a connection whose server went away without a word (a
// restart behind a proxy, a lost network) would otherwise wait forever,
// and this replica would hear no wake-up until its next poll.
const listenCheck = 15 * time.Second

// listen holds one LISTEN connection. After a reconnection every local
// pipeline is woken once: notifications sent while no connection listened
// are lost.
func (n *Notifier) listen(ctx context.Context, reconnected bool) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, n.DB.Target.DSN)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen on %s: %w", notifyChannel, err)
	}
	if reconnected {
		n.Sup.wakeAll()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheck)
		msg, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			n.wakeLocal(strings.Split(msg.Payload, ",")...)
			continue
		}
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wait for notifications: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("the listening connection stopped answering: %w", err)
		}
	}
}
