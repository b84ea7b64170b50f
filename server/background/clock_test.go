package background

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// visits records the passes over each row and any two at once.
type visits struct {
	mu       sync.Mutex
	count    map[string]int
	inFlight map[string]bool
	overlaps []string
}

// skewedPipeline visits pending instances at most once a second, like the
// real pipelines, on a replica whose clock is off by skew: every time it
// hands the database comes from that clock.
type skewedPipeline struct {
	d    *db.DB
	skew time.Duration
	v    *visits
	slow string // a row worked longer than the lease's TTL
}

func (p *skewedPipeline) Name() string { return "visit" }

func (p *skewedPipeline) Claim() db.Claim {
	return db.Claim{Table: "instances", Where: "status = 'pending'", Limit: 4, TTL: time.Second, MinInterval: time.Second}
}

func (p *skewedPipeline) Process(ctx context.Context, id, token string) error {
	p.v.mu.Lock()
	if p.v.inFlight[id] {
		p.v.overlaps = append(p.v.overlaps, id)
	}
	p.v.inFlight[id] = true
	p.v.count[id]++
	p.v.mu.Unlock()
	d := 20 * time.Millisecond
	if id == p.slow {
		d = 2500 * time.Millisecond
	}
	time.Sleep(d)
	p.v.mu.Lock()
	p.v.inFlight[id] = false
	p.v.mu.Unlock()
	_, err := db.ReleaseRow(ctx, p.d, "instances", id, token, time.Now().UTC().Add(p.skew))
	return err
}

// TestClockJumpOnOneReplica runs three replicas on one PostgreSQL database,
// one with its clock an hour ahead and one an hour behind. Leases and
// pipeline intervals are measured on the database's clock, so: no row is
// worked by two replicas at once (a row worked past its TTL included), no
// row is hidden from the others by a stamp from the future, and none is
// worked over and over for a stamp from the past.
func TestClockJumpOnOneReplica(t *testing.T) {
	d := dbtest.OpenMigrated(t, dbtest.PostgresTarget(t))
	ids := seedPending(t, d, 8)
	v := &visits{count: map[string]int{}, inFlight: map[string]bool{}}
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, skew := range []time.Duration{0, time.Hour, -time.Hour} {
		p := &skewedPipeline{d: d, skew: skew, v: v, slow: ids[0]}
		s := New(d, log, Options{Replica: fmt.Sprintf("r%d", i), Workers: 4, Idle: 100 * time.Millisecond}, p)
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(ctx) }()
	}
	const window = 8 * time.Second
	time.Sleep(window)
	cancel()
	wg.Wait()

	v.mu.Lock()
	defer v.mu.Unlock()
	require.Empty(t, v.overlaps, "rows worked by two replicas at once")
	for _, id := range ids[1:] {
		// Once a second at most (MinInterval), and not hidden for an hour.
		require.GreaterOrEqual(t, v.count[id], 3, "row %s was visited %d times in %s", id, v.count[id], window)
		require.LessOrEqual(t, v.count[id], int(window/time.Second)+1, "row %s was visited %d times in %s", id, v.count[id], window)
	}
}
