package scaletest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/scaletest"
)

// checker watches the invariants of a chaos test, from the database and
// from the hollow agents, until its context ends.
type checker struct {
	d  *db.DB
	hs *scaletest.Hosts

	doubles    atomic.Int64 // jobs seen with live tasks on two hosts at once
	overbooked atomic.Int64 // hosts seen with more live tasks than their one block
	breaches   atomic.Int64 // database invariants seen broken

	mu   sync.Mutex
	msgs []string
	seen map[string]bool
}

// The database invariants: each query lists what breaks one.
var invariants = []struct{ name, query string }{
	{"instance over its blocks",
		`SELECT id FROM instances WHERE busy_blocks > total_blocks OR busy_blocks < 0`},
	{"instance with more unfinished jobs than blocks",
		`SELECT i.id FROM instances i JOIN jobs j ON j.instance_id = i.id
		 WHERE j.status NOT IN ('terminated', 'aborted', 'failed', 'done')
		 GROUP BY i.id, i.total_blocks HAVING COUNT(*) > i.total_blocks`},
	{"run deleted while active",
		`SELECT id FROM runs WHERE deleted AND status NOT IN ('done', 'failed', 'terminated')`},
	{"unfinished job of a finished run",
		`SELECT j.id FROM jobs j JOIN runs r ON r.id = j.run_id
		 WHERE j.status NOT IN ('terminated', 'aborted', 'failed', 'done') AND r.status IN ('done', 'failed', 'terminated')`},
}

func (c *checker) run(ctx context.Context) {
	c.seen = map[string]bool{}
	for ctx.Err() == nil {
		c.check(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (c *checker) check(ctx context.Context) {
	for _, inv := range invariants {
		var ids []string
		if err := c.d.NewRaw(inv.query).Scan(ctx, &ids); err != nil {
			if ctx.Err() == nil {
				c.fail("check %q: %v", inv.name, err)
			}
			return
		}
		for _, id := range ids {
			if c.first(inv.name + id) {
				c.breaches.Add(1)
				c.fail("%s: %s", inv.name, id)
			}
		}
	}
	census := c.hs.Census()
	for job, n := range census.Jobs {
		if n > 1 && c.first("double "+job) {
			c.doubles.Add(1)
			c.fail("job %s has %d live tasks on the hosts", job, n)
		}
	}
	if census.Busiest > 1 && c.first("busy "+census.BusiestHost) {
		c.overbooked.Add(1)
		c.fail("host %s holds %d live tasks, over its one block", census.BusiestHost, census.Busiest)
	}
}

func (c *checker) first(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] {
		return false
	}
	c.seen[key] = true
	return true
}

func (c *checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

func (c *checker) failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// leasedRow is a row a replica held a lease on when it was killed.
type leasedRow struct {
	table, id string
	replica   string
	processed time.Time
}

var leasedTables = []string{"runs", "jobs", "instances", "fleets"}

// leasedBy lists the rows whose unexpired leases the replica named holds.
func leasedBy(ctx context.Context, d *db.DB, replica string) ([]leasedRow, error) {
	var out []leasedRow
	for _, table := range leasedTables {
		var rows []struct {
			ID        string    `bun:"id"`
			Processed time.Time `bun:"last_processed_at"`
		}
		err := d.NewSelect().Table(table).Column("id", "last_processed_at").
			Where("lock_owner LIKE ?", "%@"+replica).Where("lock_expires_at > clock_timestamp()").Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("rows leased by %s in %s: %w", replica, table, err)
		}
		for _, r := range rows {
			out = append(out, leasedRow{table: table, id: r.ID, replica: replica, processed: r.Processed})
		}
	}
	return out, nil
}

// takenOver waits until every row of held has been processed by another
// replica (leased by another owner, or released with a new
// last_processed_at, or gone) and returns the time since at.
func takenOver(ctx context.Context, d *db.DB, held []leasedRow, at time.Time, limit time.Duration) (time.Duration, error) {
	left := held
	for {
		var still []leasedRow
		for _, h := range left {
			var rows []struct {
				Owner     *string   `bun:"lock_owner"`
				Processed time.Time `bun:"last_processed_at"`
			}
			err := d.NewSelect().Table(h.table).Column("lock_owner", "last_processed_at").Where("id = ?", h.id).Scan(ctx, &rows)
			if err != nil {
				return 0, fmt.Errorf("read %s %s: %w", h.table, h.id, err)
			}
			if len(rows) == 0 {
				continue
			}
			r := rows[0]
			if r.Owner != nil && !strings.HasSuffix(*r.Owner, "@"+h.replica) {
				continue
			}
			if r.Owner == nil && !r.Processed.Equal(h.processed) {
				continue
			}
			still = append(still, h)
		}
		if len(still) == 0 {
			return time.Since(at), nil
		}
		if time.Since(at) > limit {
			return 0, fmt.Errorf("%d rows (first: %s %s) not taken over within %s", len(still), still[0].table, still[0].id, limit)
		}
		left = still
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
