package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// bareRepo makes a git repo with one commit on branch main, as a bare repo
// owned by the host's user (git refuses repos of other users), and returns
// its path and the commit.
func bareRepo(t *testing.T, h *sshtest.Host, files map[string]string) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "dstack-e2e-repo-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git(work, "init", "-q", "-b", "main")
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(content), 0o644))
	}
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "first")
	commit := git(work, "rev-parse", "HEAD")
	git(dir, "clone", "-q", "--bare", work, "repo.git")
	out, err := exec.Command("chown", "-R", h.User+":", filepath.Join(dir, "repo.git")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return filepath.Join(dir, "repo.git"), commit
}

// TestRemoteRepoIsClonedWithTheUsersCredentials: a run of a remote repo
// gets the clone credentials its user stored with repos/init, and the job
// works in a checkout of the run's commit.
func TestRemoteRepoIsClonedWithTheUsersCredentials(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	repo, commit := bareRepo(t, h, map[string]string{"README.md": "remote repo content\n"})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "repos", h))
	s.waitFleet(t, "repos", 90*time.Second, allInstances(schemas.InstanceIdle))

	ctx := context.Background()
	init := map[string]any{"repo_id": "e2e-remote", "repo_info": map[string]any{"repo_type": "remote", "repo_name": "e2e"},
		"repo_creds": map[string]any{"clone_url": "file://" + repo, "private_key": nil, "oauth_token": nil}}
	require.NoError(t, s.Call(ctx, "/api/project/main/repos/init", init, nil))

	// The process executor runs jobs as the host's user, who cannot create
	// the default /workflow: the repo goes under the working dir.
	spec := runSpecOf(t, "cloned", `{"type": "task", "commands": ["cat src/README.md", "git -C src rev-parse HEAD"]}`)
	spec.RepoID, spec.RepoDir = ptrTo("e2e-remote"), ptrTo("src")
	spec.RepoData, _ = json.Marshal(map[string]any{"repo_type": "remote", "repo_name": "e2e", "repo_branch": "main",
		"repo_hash": commit, "repo_diff": nil, "repo_config_name": "t", "repo_config_email": "t@example.com"})
	s.applyRun(t, spec)
	r := s.waitRun(t, "cloned", 90*time.Second, finished)
	require.Equal(t, schemas.RunDone, r.Status, "%s: %v", r.StatusMessage, errorOf(r))
	text := strings.Join(s.logs(t, "cloned", r.LatestJobSubmission.ID, 100, false), "")
	require.Contains(t, text, "remote repo content")
	require.Contains(t, text, commit)
}

// errorOf is what the run's latest submission says about how it ended.
func errorOf(r *schemas.Run) string {
	sub := r.LatestJobSubmission
	if sub == nil {
		return ""
	}
	msg := sub.StatusMessage
	if sub.TerminationReasonMessage != nil {
		msg += ": " + *sub.TerminationReasonMessage
	}
	return msg
}
