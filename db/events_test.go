package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

func TestPruneEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		for i, at := range []time.Time{now.Add(-31 * 24 * time.Hour), now.Add(-29 * 24 * time.Hour), now} {
			require.NoError(t, db.InsertEvent(ctx, d, db.NewEvent{Message: "e", RecordedAt: at,
				Targets: []db.EventTarget{{EntityType: "user", EntityID: uuid.NewString(), EntityName: string(rune('a' + i))}}}))
		}
		n, err := db.PruneEvents(ctx, d, now.Add(-30*24*time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		events, err := d.NewSelect().Model((*db.Event)(nil)).Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, events)
		targets, err := d.NewSelect().Model((*db.EventTarget)(nil)).Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, targets, "the pruned event's target went with it")
		n, err = db.PruneEvents(ctx, d, now.Add(-30*24*time.Hour))
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
