package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// migrateConfig seals values with an AES key.
const migrateConfig = `projects:
  - name: main
encryption:
  keys:
    - type: aes
      name: key1
      secret: E5yzN6V3XvBq/f085ISWFCdgnOGED0kuFaAkASlmmO4=
`

// runDirServer runs a server on dir (config.yml read) until the returned
// stop is called; databaseURL empty means SQLite.
func runDirServer(t *testing.T, dir, databaseURL string) (*testServer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Options{Dir: dir, Host: "127.0.0.1", AdminToken: servertest.AdminToken,
		DatabaseURL: databaseURL, BackgroundDisabled: true, ProjectQuota: 10, DBPoolSize: 4})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return &testServer{Client: client.New(srv.URL(), servertest.AdminToken)}, stop
}

// TestMigrateDBToPostgres populates a SQLite server (AES-sealed secrets, a
// fleet, a run with logs, a second user), moves it with
// `dstack server migrate-db`, and starts the server on PostgreSQL: it
// shows the same users, fleets, runs, logs and secrets.
func TestMigrateDBToPostgres(t *testing.T) {
	target := dbtest.PostgresTarget(t)
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(migrateConfig), 0o600))

	s, stop := runDirServer(t, dir, "")
	var alice schemas.User
	require.NoError(t, s.Call(ctx, "/api/users/create", map[string]any{"username": "alice", "global_role": "user"}, &alice))
	require.NoError(t, s.Call(ctx, "/api/project/main/secrets/create_or_update", map[string]any{"name": "hf_token", "value": "s3cr3t-value"}, nil))
	host := &sshtest.Host{Addr: "10.255.0.1", User: "ubuntu", ClientKey: sshtest.NewClientKey(t)}
	s.applyFleet(t, sshFleetSpec(t, "on-prem", host))
	var run schemas.Run
	require.NoError(t, s.Call(ctx, "/api/project/main/runs/apply",
		schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: taskSpec(t, "trained", 1, "echo hi")}}, &run))
	sub := run.Jobs[0].JobSubmissions[0].ID
	lines := []string{"epoch 1\n", "epoch 2\n"}
	logs := logstore.NewFile(filepath.Join(dir, "projects"))
	for i, l := range lines {
		require.NoError(t, logs.Write(ctx, logstore.Key{Project: "main", Run: "trained", JobSubmissionID: sub},
			[]logstore.Event{{Timestamp: time.Now().Add(time.Duration(i) * time.Millisecond), Message: []byte(l)}}))
	}
	stop()

	// Secrets are sealed in SQLite (not the plain value).
	src := dbtest.Open(t, db.Target{Dialect: db.SQLite, Path: filepath.Join(dir, "data", "sqlite.db")})
	var sealed string
	require.NoError(t, src.NewRaw("SELECT value FROM secrets WHERE name = 'hf_token'").Scan(ctx, &sealed))
	require.NotContains(t, sealed, "s3cr3t-value")
	require.NoError(t, src.Close())

	cmd := exec.Command(servertest.Binary(t), "server", "migrate-db", "--dir", dir, "--to", dbtest.URL(target), "--batch", "2")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
	for _, table := range []string{"users", "projects", "secrets", "fleets", "instances", "runs", "jobs"} {
		require.Regexp(t, fmt.Sprintf(`(?m)^  %s +\[#+\] [1-9][0-9]*/[1-9][0-9]* ✓ rows and checksum match$`, table), string(out))
	}
	require.Contains(t, string(out), "every table's row count and checksum match")

	// A second migration into the same (now full) database is refused.
	again := exec.Command(servertest.Binary(t), "server", "migrate-db", "--dir", dir, "--to", dbtest.URL(target))
	out, err = again.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "the target database is not empty")

	pg, _ := runDirServer(t, dir, dbtest.URL(target))
	var users []schemas.User
	require.NoError(t, pg.Call(ctx, "/api/users/list", nil, &users))
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	require.ElementsMatch(t, []string{"admin", "alice"}, names)
	var secret struct {
		Value *string `json:"value"`
	}
	require.NoError(t, pg.Call(ctx, "/api/project/main/secrets/get", map[string]any{"name": "hf_token"}, &secret))
	require.NotNil(t, secret.Value)
	require.Equal(t, "s3cr3t-value", *secret.Value, "decrypted with the same key")
	f, err := pg.getFleet("on-prem")
	require.NoError(t, err)
	require.Len(t, f.Instances, 1)
	got := pg.waitRun(t, "trained", 10*time.Second, func(*schemas.Run) bool { return true })
	require.Equal(t, sub, got.Jobs[0].JobSubmissions[0].ID)
	events, _ := pg.logPages(t, schemas.PollLogsRequest{RunName: "trained", JobSubmissionID: sub})
	var text []string
	for _, e := range events {
		text = append(text, e.Message)
	}
	require.Equal(t, strings.Join(lines, ""), strings.Join(text, ""))
}
