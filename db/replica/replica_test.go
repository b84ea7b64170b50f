package replica

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestGCSReplicaRoundTrip replicates a SQLite database to the GCS
// emulator, loses the database file and restores it from the replica.
func TestGCSReplicaRoundTrip(t *testing.T) {
	startEmulator(t, "dstack-state")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server", "data", "sqlite.db")
	opts := Options{URL: "gcs://dstack-state/server", Path: path, SyncInterval: 50 * time.Millisecond}

	r, err := Prepare(ctx, opts)
	require.NoError(t, err)
	require.False(t, r.Restored(), "an empty replica restores nothing")
	require.Equal(t, "gcs://dstack-state/server", r.URL())

	db := openSQLite(t, path)
	_, err = db.Exec(`CREATE TABLE runs (name TEXT PRIMARY KEY)`)
	require.NoError(t, err)
	require.NoError(t, r.Start(ctx))
	// Two batches, each shipped before the next: the restore applies a
	// snapshot and the changes after it.
	var txid uint64
	for batch := range 2 {
		for i := range 25 {
			_, err := db.Exec(`INSERT INTO runs (name) VALUES (?)`, fmt.Sprintf("run-%d-%02d", batch, i))
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			st := r.Status()
			return st.Error == "" && st.LocalTXID > txid && st.ReplicaTXID >= st.LocalTXID
		}, 30*time.Second, 50*time.Millisecond, "the replica catches up")
		txid = r.Status().LocalTXID
	}
	require.Greater(t, txid, uint64(1))
	require.NoError(t, db.Close())
	require.NoError(t, r.Close(ctx))

	require.NoError(t, os.RemoveAll(filepath.Dir(path)))
	r, err = Prepare(ctx, opts)
	require.NoError(t, err)
	require.True(t, r.Restored())
	db = openSQLite(t, path)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM runs`).Scan(&n))
	require.Equal(t, 50, n)
	require.NoError(t, db.Close())
}

// TestPrepareGCSUnreachable names the replica and the cause.
func TestPrepareGCSUnreachable(t *testing.T) {
	startEmulator(t, "dstack-state")
	_, err := Prepare(context.Background(), Options{URL: "gs://no-such-bucket/db", Path: filepath.Join(t.TempDir(), "sqlite.db")})
	require.ErrorContains(t, err, "replica gs://no-such-bucket/db cannot be reached")
	require.ErrorContains(t, err, "404 Not Found")

	_, err = Prepare(context.Background(), Options{URL: "gcs:///db", Path: filepath.Join(t.TempDir(), "sqlite.db")})
	require.ErrorContains(t, err, "a GCS replica needs a bucket")
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping())
	return db
}
