package db_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// TestDebugLogHidesValues: at debug level every query is logged, without
// the values in it (tokens, sealed secrets, blobs).
func TestDebugLogHidesValues(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d, err := db.Open(context.Background(), target, db.Options{Logger: log})
		require.NoError(t, err)
		t.Cleanup(func() { _ = d.Close() })
		ctx := context.Background()
		_, err = d.Migrate(ctx)
		require.NoError(t, err)

		const token, secret, blob = "tok-4f1e9a", "enc:aes:k1:c2VjcmV0LXZhbHVl", "it's payload-9d3e"
		u := &db.User{ID: uuid.NewString(), Name: "u", CreatedAt: time.Now().UTC(), Token: token, TokenHash: "hash-77c1",
			GlobalRole: "admin", Active: true}
		require.NoError(t, db.InsertUser(ctx, d, u))
		p := &db.Project{ID: uuid.NewString(), Name: "p", CreatedAt: time.Now().UTC(), OwnerID: u.ID, SSHPrivateKey: secret, SSHPublicKey: "k"}
		require.NoError(t, db.InsertProject(ctx, d, p))
		_, err = db.InsertFileArchive(ctx, d, &db.FileArchive{ID: uuid.NewString(), UserID: u.ID, BlobHash: "h", Blob: []byte(blob)})
		require.NoError(t, err)
		_, err = db.GetUserByTokenHash(ctx, d, "hash-77c1")
		require.NoError(t, err)

		text := logs.String()
		require.Contains(t, text, "INSERT INTO", "queries are logged")
		for _, v := range []string{token, "c2VjcmV0LXZhbHVl", "hash-77c1", "payload", "7061796c6f6164"} {
			require.False(t, strings.Contains(text, v), "value %q in the debug log", v)
		}
		require.Contains(t, text, "bytes>", "values show as their length")
	})
}
