package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

func seedInstances(t *testing.T, d *db.DB, n int, status string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	u := &db.User{ID: uuid.NewString(), Name: "u", CreatedAt: now, Token: "t", TokenHash: "h", GlobalRole: "admin", Active: true}
	require.NoError(t, db.InsertUser(ctx, d, u))
	p := &db.Project{ID: uuid.NewString(), Name: "p", CreatedAt: now, OwnerID: u.ID, SSHPrivateKey: "k", SSHPublicKey: "k"}
	require.NoError(t, db.InsertProject(ctx, d, p))
	for i := range n {
		in := &db.Instance{ID: uuid.NewString(), ProjectID: p.ID, Name: fmt.Sprintf("i-%d", i), InstanceNum: i,
			CreatedAt: now, LastProcessedAt: now.Add(-time.Duration(i) * time.Second), Status: status, Health: "healthy"}
		_, err := d.NewInsert().Model(in).Exec(ctx)
		require.NoError(t, err)
	}
}

func TestClaimRowsLeasesAndReleases(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedInstances(t, d, 5, "pending")
		now := time.Now().UTC()
		c := db.Claim{Table: "instances", Where: "status = 'pending' AND deleted = FALSE", Owner: "test", Limit: 3, TTL: time.Minute}
		ids, token, err := db.ClaimRows(ctx, d, c, now)
		require.NoError(t, err)
		require.Len(t, ids, 3)
		more, _, err := db.ClaimRows(ctx, d, c, now)
		require.NoError(t, err)
		require.Len(t, more, 2, "leased rows are not claimed again")
		none, _, err := db.ClaimRows(ctx, d, c, now)
		require.NoError(t, err)
		require.Empty(t, none)

		ok, err := db.ReleaseRow(ctx, d, "instances", ids[0], "wrong-token", now)
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = db.ReleaseRow(ctx, d, "instances", ids[0], token, now)
		require.NoError(t, err)
		require.True(t, ok)
		again, _, err := db.ClaimRows(ctx, d, c, now)
		require.NoError(t, err)
		require.Equal(t, []string{ids[0]}, again)

		c.Limit = 10
		expired, _, err := db.ClaimRows(ctx, d, c, now.Add(2*time.Minute))
		require.NoError(t, err)
		require.Len(t, expired, 5, "expired leases are claimable by anyone")

		c.ProcessedBefore = now.Add(-10 * time.Second)
		recent, _, err := db.ClaimRows(ctx, d, c, now.Add(5*time.Minute))
		require.NoError(t, err)
		require.Empty(t, recent, "rows processed after ProcessedBefore wait")

		// MinInterval counts from the claim's clock: the rows were
		// processed (released) at about now.
		c.ProcessedBefore = time.Time{}
		c.MinInterval = time.Minute
		soon, _, err := db.ClaimRows(ctx, d, c, now.Add(30*time.Minute))
		require.NoError(t, err)
		require.Len(t, soon, 5, "rows processed longer than MinInterval ago are due")
	})
}

// TestLeaseWritesStampTheDatabaseClock: on PostgreSQL a released row's
// last_processed_at is the database's time, whatever clock the releasing
// replica passes (an hour ahead here), so MinInterval keeps holding.
func TestLeaseWritesStampTheDatabaseClock(t *testing.T) {
	d := dbtest.OpenMigrated(t, dbtest.PostgresTarget(t))
	ctx := context.Background()
	seedInstances(t, d, 1, "pending")
	c := db.Claim{Table: "instances", Where: "status = 'pending'", Owner: "test", Limit: 1, TTL: time.Minute, MinInterval: time.Minute}
	now, err := db.Clock(ctx, d)
	require.NoError(t, err)
	ids, token, err := db.ClaimRows(ctx, d, c, now.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, ids, 1)
	ok, err := db.ReleaseRow(ctx, d, "instances", ids[0], token, now.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	var stamped time.Time
	require.NoError(t, d.NewSelect().Table("instances").Column("last_processed_at").Where("id = ?", ids[0]).Scan(ctx, &stamped))
	require.WithinDuration(t, now, stamped, 30*time.Second)
	later, _, err := db.ClaimRows(ctx, d, c, now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, ids, later, "the row is due a MinInterval after it was worked")
}

func TestClaimRowsConcurrentClaimersGetDisjointBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		seedInstances(t, d, 200, "pending")
		now := time.Now().UTC()
		c := db.Claim{Table: "instances", Where: "status = 'pending'", Owner: "test", Limit: 7, TTL: time.Minute}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ids, _, err := db.ClaimRows(context.Background(), d, c, now)
					if err != nil {
						assert.NoError(t, err)
						return
					}
					if len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, id := range ids {
						seen[id]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Len(t, seen, 200)
		for id, n := range seen {
			require.Equal(t, 1, n, id)
		}
	})
}

func TestExtendLeasesKeepsTheBatchHeld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedInstances(t, d, 3, "pending")
		now, err := db.Clock(ctx, d)
		require.NoError(t, err)
		c := db.Claim{Table: "instances", Where: "status = 'pending'", Owner: "test", Limit: 3, TTL: time.Minute}
		ids, token, err := db.ClaimRows(ctx, d, c, now)
		require.NoError(t, err)
		require.Len(t, ids, 3)
		ok, err := db.ReleaseRow(ctx, d, "instances", ids[0], token, now)
		require.NoError(t, err)
		require.True(t, ok)

		n, err := db.ExtendLeases(ctx, d, "instances", token, now.Add(10*time.Minute))
		require.NoError(t, err)
		require.Equal(t, 2, n, "only the rows still held are extended")
		got, _, err := db.ClaimRows(ctx, d, c, now.Add(5*time.Minute))
		require.NoError(t, err)
		require.Equal(t, []string{ids[0]}, got, "the extended leases outlive their TTL")
	})
}
