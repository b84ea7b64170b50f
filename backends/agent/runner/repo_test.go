package runner

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// gitServer serves a bare repo with one commit over smart HTTP (git's own
// http-backend behind a CGI handler), admitting only requests that carry
// token as the password of HTTP basic auth. It returns the clone URL and
// the commit.
func gitServer(t *testing.T, token string, files map[string]string) (cloneURL, commit string) {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	out, err := exec.Command(gitBin, "--exec-path").Output()
	require.NoError(t, err, "git --exec-path")
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	root, work := t.TempDir(), t.TempDir()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %v: %s", args, err, b)
		return strings.TrimSpace(string(b))
	}
	run(work, "init", "-q", "-b", "main")
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(content), 0o644))
	}
	run(work, "add", ".")
	run(work, "commit", "-q", "-m", "first")
	commit = run(work, "rev-parse", "HEAD")
	run(root, "clone", "-q", "--bare", work, "repo.git")
	cgiHandler := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pass, ok := r.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/repo.git", commit
}

// TestRunnerClonesRemoteRepoWithCredentials: a remote repo is cloned with
// the credentials the server passes in repo_credentials (an OAuth token
// here), at the run's commit; without them the job fails saying why.
func TestRunnerClonesRemoteRepoWithCredentials(t *testing.T) {
	const token = "s3cret-token"
	url, commit := gitServer(t, token, map[string]string{"hello.txt": "hello from the repo\n"})
	remote := func(tok *string) schemas.SubmitBody {
		body := submitBody("cat hello.txt", "git rev-parse HEAD")
		data := schemas.RepoData{RepoType: "remote", RepoBranch: "main", RepoHash: commit}
		body.Run.RunSpec.RepoData = data
		body.JobSpec.RepoData = &data
		body.RepoCredentials = &schemas.RepoCredentials{CloneURL: url, OAuthToken: tok}
		return body
	}

	t.Run("with the token", func(t *testing.T) {
		tr := startRunner(t, nil)
		tok := token
		tr.startJob(t, remote(&tok))
		var p pulled
		tr.pullUntil(t, &p, 30*time.Second, untilFinal)
		require.Equal(t, "hello from the repo\n"+commit+"\n", p.output(), "output, final = %+v", p.final())
		require.Equal(t, schemas.JobStateDone, p.final().State, "final = %+v", p.final())

	})
	t.Run("without it", func(t *testing.T) {
		tr := startRunner(t, nil)
		tr.startJob(t, remote(nil))
		var p pulled
		tr.pullUntil(t, &p, 30*time.Second, untilFinal)
		final := p.final()
		require.False(t, final.State != schemas.JobStateFailed || !strings.Contains(final.TerminationMessage, "git clone"), "final = %+v", final)
		var logs strings.Builder
		for _, e := range p.runner {
			logs.Write(e.Message)
		}
		require.NotContains(t, logs.String()+final.TerminationMessage, token, "the token shows in the runner's logs")
	})
}
