package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/db"
)

// leaseTTL is how long a pipeline's lease on a row holds without being
// renewed. The supervisor renews the leases of the rows it works every
// third of it, so work of any length keeps its rows; a replica that dies
// (kill -9, a lost machine) lets go of its rows within leaseTTL, and
// another replica takes them over on its next claim.
const leaseTTL = 20 * time.Second

// errLeaseExpired ends the work on a batch whose leases could not be renewed
// before they ran out: another replica may hold its rows by now, and two
// holders must never talk to one host about one job at once.
var errLeaseExpired = errors.New("the lease could not be renewed in time; another replica may hold the rows")

// heartbeat renews the batch's leases every third of their TTL while its
// rows are worked, measured on the database's clock (db.Clock), which every
// replica shares. It returns the context the batch is worked in, cancelled
// with errLeaseExpired once the leases may have expired (no renewal for the
// TTL since the last one: the database was unreachable meanwhile), and the
// func that stops the renewals. claimed is the database time of the claim.
func (s *Supervisor) heartbeat(ctx context.Context, log *slog.Logger, c db.Claim, token string, claimed time.Time) (context.Context, func()) {
	hctx, cancelRenew := context.WithCancel(ctx)
	wctx, cancelWork := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Local elapsed time since the last renewal stands for the
		// database's: the two clocks may disagree on the time, not on how
		// fast it passes.
		held := time.Now()
		every := max(c.TTL/3, 10*time.Millisecond)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
			}
			start := time.Now()
			if err := s.renew(hctx, c, token); err != nil {
				if hctx.Err() != nil {
					return
				}
				log.Warn("renew leases", "table", c.Table, "err", err)
			} else {
				held = start
			}
			// The next renewal may come one period from now: give up the
			// work unless the leases still hold by then.
			if time.Since(held)+every >= c.TTL {
				log.Error("leases lost: stopping the work on the batch", "table", c.Table, "claimed_at", claimed,
					"last_renewed", time.Since(held).Round(time.Millisecond))
				cancelWork(errLeaseExpired)
				return
			}
		}
	}()
	return wctx, func() { cancelRenew(); <-done; cancelWork(nil) }
}

// renew pushes the expiry of the batch's leases one TTL past the database's
// clock, within the time left to the leases.
func (s *Supervisor) renew(ctx context.Context, c db.Claim, token string) error {
	ctx, cancel := context.WithTimeout(ctx, max(c.TTL/3, 10*time.Millisecond))
	defer cancel()
	now, err := db.Clock(ctx, s.db)
	if err != nil {
		return err
	}
	if _, err := db.ExtendLeases(ctx, s.db, c.Table, token, now.Add(c.TTL)); err != nil {
		return fmt.Errorf("extend leases of %s: %w", c.Table, err)
	}
	return nil
}
