package background

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// listenerEnv makes this test binary a replica that only listens for
// wake-ups on the database it names, until it is killed.
const listenerEnv = "DSTACK_TEST_LISTENER_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(listenerEnv); dsn != "" {
		os.Exit(listenOnly(dsn))
	}
	os.Exit(m.Run())
}

func listenOnly(dsn string) int {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Target{Dialect: db.Postgres, DSN: dsn}, db.Options{})
	if err != nil {
		return 1
	}
	log := slog.New(slog.DiscardHandler)
	(&Notifier{DB: d, Sup: New(d, log, Options{}, idlePipeline{"runs"}), Log: log}).Listen(ctx)
	return 0
}

// TestWakeupsSurviveAKilledReplica kills (-9) a replica while its LISTEN
// connection is open: the database lets go of the dead connection, and
// the surviving replica still gets every wake-up another one sends.
func TestWakeupsSurviveAKilledReplica(t *testing.T) {
	target := dbtest.PostgresTarget(t)
	d := dbtest.OpenMigrated(t, target)
	ctx := context.Background()
	listeners := func() int {
		n, err := d.NewSelect().TableExpr("pg_stat_activity").Where("datname = current_database()").
			Where("query = ?", "LISTEN "+notifyChannel).Count(ctx)
		require.NoError(t, err)
		return int(n)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), listenerEnv+"="+target.DSN)
	require.NoError(t, child.Start())
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { _ = child.Process.Kill() })
	require.Eventually(t, func() bool { return listeners() == 1 }, 30*time.Second, 50*time.Millisecond, "the replica never listened")

	log := slog.New(slog.DiscardHandler)
	survivor := New(d, log, Options{}, idlePipeline{"runs"})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go (&Notifier{DB: d, Sup: survivor, Log: log}).Listen(lctx)
	require.Eventually(t, func() bool { return listeners() == 2 }, 30*time.Second, 50*time.Millisecond, "the survivor never listened")

	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	<-exited
	require.Eventually(t, func() bool { return listeners() == 1 }, 30*time.Second, 50*time.Millisecond,
		"the killed replica's LISTEN connection stayed open")

	sender := &Notifier{DB: d, Sup: New(d, log, Options{}, idlePipeline{"runs"}), Log: log}
	wake := survivor.loops["runs"].wake
	for i := range 50 {
		sender.Wake("runs")
		select {
		case <-wake:
		case <-time.After(20 * time.Second):
			t.Fatalf("wake-up %d never reached the surviving replica", i)
		}
	}
}
