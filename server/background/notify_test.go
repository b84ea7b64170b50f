package background

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

type idlePipeline struct{ name string }

func (p idlePipeline) Name() string                                  { return p.name }
func (p idlePipeline) Claim() db.Claim                               { return db.Claim{Table: "runs", Where: "1 = 0", Limit: 1} }
func (p idlePipeline) Process(context.Context, string, string) error { return nil }

func TestNotifierWakesOtherReplicas(t *testing.T) {
	d := dbtest.OpenMigrated(t, dbtest.PostgresTarget(t))
	log := slog.New(slog.DiscardHandler)
	listener := New(d, log, Options{}, idlePipeline{"runs"})
	sender := New(d, log, Options{}, idlePipeline{"runs"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&Notifier{DB: d, Sup: listener, Log: log}).Listen(ctx)

	wake := listener.loops["runs"].wake
	deadline := time.Now().Add(20 * time.Second)
	for {
		(&Notifier{DB: d, Sup: sender, Log: log}).Wake("runs")
		select {
		case <-wake:
			return // the other replica's pipeline was woken
		case <-time.After(200 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "the wake-up never reached the other replica")
	}
}
