package background

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// slowPipeline takes its time over each pending instance, like a job pass
// that waits on a slow host, and counts how often each row is worked.
type slowPipeline struct {
	d     *db.DB
	ttl   time.Duration
	slow  map[string]time.Duration // per row; fast otherwise
	fast  time.Duration
	mu    sync.Mutex
	count map[string]int
}

func (p *slowPipeline) Name() string { return "slow" }

func (p *slowPipeline) Claim() db.Claim {
	return db.Claim{Table: "instances", Where: "status = 'pending'", Limit: 64, TTL: p.ttl}
}

func (p *slowPipeline) Process(ctx context.Context, id, token string) error {
	p.mu.Lock()
	p.count[id]++
	d, ok := p.slow[id]
	p.mu.Unlock()
	if !ok {
		d = p.fast
	}
	time.Sleep(d)
	_, err := db.UpdateLeased(ctx, p.d, &db.Instance{ID: id, Status: "idle"}, token, time.Now().UTC(), "status")
	return err
}

// TestLeasesHoldWhileRowsAreWorked runs two replicas of a pipeline on one
// PostgreSQL database. Each row must be worked exactly once: rows waiting
// for a worker, and a row worked longer than the lease's TTL, must not be
// taken over by the other replica meanwhile.
func TestLeasesHoldWhileRowsAreWorked(t *testing.T) {
	d := dbtest.OpenMigrated(t, dbtest.PostgresTarget(t))
	ctx := context.Background()
	ids := seedPending(t, d, 40)
	p := &slowPipeline{d: d, ttl: time.Second, fast: 100 * time.Millisecond,
		slow: map[string]time.Duration{ids[0]: 2500 * time.Millisecond}, count: map[string]int{}}
	log := slog.New(slog.DiscardHandler)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for r := range 2 {
		s := New(d, log, Options{Replica: fmt.Sprintf("r%d", r), Workers: 4, Idle: 100 * time.Millisecond}, p)
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(runCtx) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := d.NewSelect().Model((*db.Instance)(nil)).Where("status = 'pending'").Count(ctx)
		require.NoError(t, err)
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // room for a late duplicate
	cancel()
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		require.Equal(t, 1, p.count[id], "row %s was worked %d times", id, p.count[id])
	}
}

// seedPending stores n pending instances of a fresh project.
func seedPending(t *testing.T, d *db.DB, n int) []string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	u := &db.User{ID: uuid.NewString(), Name: "u", CreatedAt: now, Token: "t", TokenHash: "h", GlobalRole: "admin", Active: true}
	require.NoError(t, db.InsertUser(ctx, d, u))
	p := &db.Project{ID: uuid.NewString(), Name: "p", CreatedAt: now, OwnerID: u.ID, SSHPrivateKey: "k", SSHPublicKey: "k"}
	require.NoError(t, db.InsertProject(ctx, d, p))
	ids := make([]string, n)
	for i := range n {
		in := &db.Instance{ID: uuid.NewString(), ProjectID: p.ID, Name: fmt.Sprintf("i-%d", i), InstanceNum: i,
			CreatedAt: now, LastProcessedAt: now.Add(-time.Duration(n-i) * time.Second), Status: "pending", Health: "healthy"}
		_, err := d.NewInsert().Model(in).Exec(ctx)
		require.NoError(t, err)
		ids[i] = in.ID
	}
	return ids
}
