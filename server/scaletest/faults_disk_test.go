package scaletest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestFullDiskUnderSQLite runs a server whose state directory and SQLite
// database live on a small tmpfs, then fills the disk: writes are refused
// with SQLite's "disk is full" in the server's log, nothing half-written
// is left, and once space is freed the server carries on; the database
// passes SQLite's integrity check with every row written before.
func TestFullDiskUnderSQLite(t *testing.T) {
	mnt := smallDisk(t, "24m")
	target := db.Target{Dialect: db.SQLite, Path: filepath.Join(mnt, "sqlite.db")}
	hs := scaletest.NewHosts(t, nil)
	hosts, err := hs.Add(2)
	require.NoError(t, err)
	scaletest.SeedFleet(t, hs, mnt, target, "hollow", hosts)
	logs := &syncBuffer{}
	s := scaletest.Start(t, hs, mnt, target, server.Options{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	ctx := context.Background()
	require.NoError(t, s.Submit(ctx, "before", "echo before"))
	waitRun(t, s, "before", time.Minute, func(r *schemas.Run) bool { return r.Status == schemas.RunDone })

	filler := fill(t, mnt)
	refused := 0
	for range 5 {
		if err := s.Submit(ctx, "while-full", "echo full"); err != nil {
			refused++
		}
	}
	require.Equal(t, 5, refused, "writes went through on a full disk")
	require.Eventually(t, func() bool { return bytes.Contains(logs.Bytes(), []byte("disk is full")) }, 30*time.Second,
		100*time.Millisecond, "the server's log does not say the disk is full:\n%s", logs.Bytes())

	require.NoError(t, os.Remove(filler))
	require.NoError(t, s.Submit(ctx, "after", "echo after"))
	waitRun(t, s, "after", time.Minute, func(r *schemas.Run) bool { return r.Status == schemas.RunDone })
	r, err := s.Run(ctx, "before")
	require.NoError(t, err)
	require.Equal(t, schemas.RunDone, r.Status)
	_, err = s.Run(ctx, "while-full")
	require.Error(t, err, "a run refused on the full disk exists")
	require.NoError(t, s.Stop())

	d, err := db.Open(ctx, target, db.Options{})
	require.NoError(t, err)
	defer d.Close()
	var check string
	require.NoError(t, d.NewRaw("PRAGMA integrity_check").Scan(ctx, &check))
	require.Equal(t, "ok", check)
}

// smallDisk mounts a tmpfs of size at a fresh directory (root only; skips
// without it unless CI=true).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs: %v: %s", err, out)
		}
		t.Skipf("mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// fill writes a file on dir's filesystem until it is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "fill the disk: %v", err)
			return path
		}
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
