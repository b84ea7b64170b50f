package background

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// blockingPipeline works each row until its context ends and reports why
// it ended.
type blockingPipeline struct {
	ttl     time.Duration
	started chan struct{}
	ended   chan error
}

func (p *blockingPipeline) Name() string { return "blocking" }

func (p *blockingPipeline) Claim() db.Claim {
	return db.Claim{Table: "instances", Where: "status = 'pending'", Limit: 1, TTL: p.ttl}
}

func (p *blockingPipeline) Process(ctx context.Context, id, token string) error {
	p.started <- struct{}{}
	<-ctx.Done()
	p.ended <- context.Cause(ctx)
	return nil
}

// TestWorkStopsWhenItsLeaseCannotBeRenewed: a row is worked past its
// lease's TTL while the leases are renewed; once the database cannot be
// reached, the work is stopped before the lease may have run out (another
// replica may take the row then), with the reason.
func TestWorkStopsWhenItsLeaseCannotBeRenewed(t *testing.T) {
	d := dbtest.OpenMigrated(t, dbtest.SQLiteTarget(t))
	seedPending(t, d, 1)
	p := &blockingPipeline{ttl: time.Second, started: make(chan struct{}, 1), ended: make(chan error, 1)}
	s := New(d, slog.New(slog.DiscardHandler), Options{Replica: "r", Workers: 1, Idle: 50 * time.Millisecond}, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	<-p.started

	time.Sleep(3 * p.ttl) // renewed meanwhile: still worked
	select {
	case err := <-p.ended:
		t.Fatalf("the work stopped while its lease was renewed: %v", err)
	default:
	}

	require.NoError(t, d.Close()) // the database is gone: no renewal can succeed
	lost := time.Now()
	select {
	case err := <-p.ended:
		require.True(t, errors.Is(err, errLeaseExpired), "the work ended with %v", err)
		require.Less(t, time.Since(lost), p.ttl, "the work outlived its lease")
	case <-time.After(10 * p.ttl):
		t.Fatal("the work went on without a lease")
	}
}
