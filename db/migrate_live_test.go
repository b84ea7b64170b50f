package db_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
)

// migrateThrough applies the migrations up to and including last, as an
// older version of the server would have.
func migrateThrough(t *testing.T, d *db.DB, last string) {
	t.Helper()
	ctx := context.Background()
	ms, err := db.Migrations(d.Target.Dialect)
	require.NoError(t, err)
	_, err = d.ExecContext(ctx, "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
	require.NoError(t, err)
	for _, m := range ms {
		if m.Name > last {
			break
		}
		for _, stmt := range strings.Split(m.SQL, ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			_, err := d.ExecContext(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		_, err = d.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", m.Name, time.Now().UTC())
		require.NoError(t, err)
	}
}

// TestMigrationKeepsDuplicateLiveRunsReachable: live runs sharing a name
// (stored by earlier versions) are all kept, the older ones renamed, before
// names become unique among live runs.
func TestMigrationKeepsDuplicateLiveRunsReachable(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		ctx := context.Background()
		d := dbtest.Open(t, target)
		migrateThrough(t, d, "0003_compute")
		// Rows are written in SQL of the old schema: the models follow the
		// newest one.
		now := time.Now().UTC().Truncate(time.Microsecond)
		exec := func(query string, args ...any) {
			t.Helper()
			_, err := d.ExecContext(ctx, query, args...)
			require.NoError(t, err, query)
		}
		userID, projectID := uuid.NewString(), uuid.NewString()
		exec("INSERT INTO users (id, name, created_at, token, token_hash, global_role) VALUES (?, 'u', ?, 't', 'h', 'admin')", userID, now)
		exec("INSERT INTO projects (id, name, created_at, owner_id, ssh_private_key, ssh_public_key) VALUES (?, 'p', ?, ?, 'k', 'k')", projectID, now, userID)
		runs := []struct {
			id      string
			name    string
			at      time.Duration
			deleted bool
		}{
			{"11111111-aaaa-4aaa-8aaa-000000000001", "twin", 0, false},
			{"22222222-aaaa-4aaa-8aaa-000000000002", "twin", time.Second, false},
			{"33333333-aaaa-4aaa-8aaa-000000000003", "twin", 2 * time.Second, true},
			{"44444444-aaaa-4aaa-8aaa-000000000004", "single", 0, false},
		}
		for _, r := range runs {
			spec := fmt.Sprintf(`{"run_name":%q,"repo_id":"none","configuration":{"type":"task"}}`, r.name)
			exec(`INSERT INTO runs (id, project_id, user_id, run_name, submitted_at, last_processed_at, status, run_spec, deleted)
				VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)`, r.id, projectID, userID, r.name, now.Add(r.at), now, spec, r.deleted)
			exec(`INSERT INTO jobs (id, project_id, run_id, run_name, job_num, job_name, submitted_at, last_processed_at, status, job_spec_data)
				VALUES (?, ?, ?, ?, 0, ?, ?, ?, 'running', '{}')`, uuid.NewString(), projectID, r.id, r.name, r.name+"-0-0", now, now)
		}
		p := &db.Project{ID: projectID}
		u := &db.User{ID: userID}

		_, err := d.Migrate(ctx)
		require.NoError(t, err)

		newest, err := db.GetRunByName(ctx, d, p.ID, "twin")
		require.NoError(t, err)
		require.Equal(t, runs[1].id, newest.ID, "the newest live run keeps the name")
		older, err := db.GetRunByName(ctx, d, p.ID, "twin-11111111")
		require.NoError(t, err, "the older one is renamed, not lost")
		require.Equal(t, runs[0].id, older.ID)
		var spec map[string]any
		require.NoError(t, json.Unmarshal([]byte(older.RunSpec), &spec))
		require.Equal(t, "twin-11111111", spec["run_name"], "the stored spec says the new name")
		require.True(t, strings.HasPrefix(older.RunSpec, `{"run_name":"twin-11111111","repo_id"`), "key order is kept: %s", older.RunSpec)
		jobs, err := db.ListRunJobs(ctx, d, older.ID)
		require.NoError(t, err)
		require.Equal(t, "twin-11111111", jobs[0].RunName)
		deleted, err := db.GetRun(ctx, d, runs[2].id)
		require.NoError(t, err)
		require.Equal(t, "twin", deleted.RunName, "deleted runs are left as they are")
		single, err := db.GetRunByName(ctx, d, p.ID, "single")
		require.NoError(t, err)
		require.Equal(t, runs[3].id, single.ID)

		dup := &db.Run{ID: uuid.NewString(), ProjectID: p.ID, UserID: u.ID, RunName: "single", SubmittedAt: now,
			LastProcessedAt: now, Status: "submitted", RunSpec: "{}"}
		require.ErrorIs(t, db.InsertRunWithJobs(ctx, d, dup, nil), db.ErrConflict, "a second live run with a name is refused")
	})
}
