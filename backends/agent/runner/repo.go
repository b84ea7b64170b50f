package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// storeArchive saves an uploaded file archive under TempDir/file_archives.
func (s *Server) storeArchive(id string, r io.Reader) error {
	dir := filepath.Join(s.cfg.TempDir, "file_archives")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create archive dir: %w", err)
	}
	return writeFile(filepath.Join(dir, id), r)
}

// storeCode saves the uploaded code blob and returns its path ("" if empty).
func (s *Server) storeCode(r io.Reader) (string, error) {
	if err := os.MkdirAll(s.cfg.TempDir, 0o755); err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	p := filepath.Join(s.cfg.TempDir, "code.blob")
	if err := writeFile(p, r); err != nil {
		return "", err
	}
	if st, err := os.Stat(p); err == nil && st.Size() == 0 {
		return "", nil
	}
	return p, nil
}

func writeFile(p string, r io.Reader) error {
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func repoData(job *schemas.SubmitBody) schemas.RepoData {
	if job.JobSpec.RepoData != nil {
		return *job.JobSpec.RepoData
	}
	return job.Run.RunSpec.RepoData
}

// repoDir is job_spec.repo_dir relative to the working dir (the working dir
// itself when unset).
func (s *Server) repoDir(job *schemas.SubmitBody, env *jobEnv) string {
	if job.JobSpec.RepoDir == nil || *job.JobSpec.RepoDir == "" {
		return env.WorkDir
	}
	dir, err := expandPath(*job.JobSpec.RepoDir, env.WorkDir, env.HomeDir)
	if err != nil {
		return env.WorkDir
	}
	return dir
}

// setupRepo puts the code into the repo dir: a tar for local/virtual repos,
// a git clone (plus the uploaded diff) for remote ones.
func (s *Server) setupRepo(job *schemas.SubmitBody, env *jobEnv, codePath string) error {
	dir := s.repoDir(job, env)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read repo dir: %w", err)
	}
	if len(entries) > 0 && !(len(entries) == 1 && entries[0].Name() == "lost+found") {
		if a := job.JobSpec.RepoExistsAction; a != nil && *a == schemas.RepoExistsActionError {
			return fmt.Errorf("repo dir is not empty: %s", dir)
		}
		s.note(slog.LevelInfo, "repo dir is not empty, skipping checkout", "dir", dir)
		return nil
	}
	data := repoData(job)
	if data.RepoType == "remote" {
		return s.cloneRepo(job, dir, codePath)
	}
	if codePath == "" {
		return nil
	}
	if err := mkdirOwned(dir, env); err != nil {
		return fmt.Errorf("create repo dir: %w", err)
	}
	f, err := os.Open(codePath)
	if err != nil {
		return fmt.Errorf("open code: %w", err)
	}
	defer f.Close()
	if err := extractTar(f, dir, nil, env); err != nil {
		return fmt.Errorf("extract code: %w", err)
	}
	return nil
}

// cloneRepo clones a remote repo with the git CLI and applies the uploaded diff.
func (s *Server) cloneRepo(job *schemas.SubmitBody, dir, diffPath string) error {
	creds := job.RepoCredentials
	if creds == nil || creds.CloneURL == "" {
		return errors.New("remote repo without clone url")
	}
	data := repoData(job)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	args := []string{"clone"}
	if data.RepoBranch != "" {
		args = append(args, "--branch", data.RepoBranch)
		if job.JobSpec.SingleBranch {
			args = append(args, "--single-branch")
		}
	}
	auth, cleanup, err := s.gitAuth(creds)
	if err != nil {
		return err
	}
	err = gitWith(ctx, "", auth, append(args, creds.CloneURL, dir)...)
	cleanup()
	if err != nil {
		return err
	}
	if data.RepoHash != "" {
		if err := git(ctx, dir, "checkout", data.RepoHash); err != nil {
			return err
		}
	}
	if data.RepoConfigName != "" {
		_ = git(ctx, dir, "config", "user.name", data.RepoConfigName)
	}
	if data.RepoConfigEmail != "" {
		_ = git(ctx, dir, "config", "user.email", data.RepoConfigEmail)
	}
	if diffPath == "" {
		return nil
	}
	return git(ctx, dir, "apply", "--whitespace=nowarn", diffPath)
}

var credInURL = regexp.MustCompile(`//[^/@\s]+@`)

// gitAuth is the environment that makes git use the repo credentials: an
// OAuth token goes in an HTTP Authorization header (not in the URL, where
// it would show in the process list), a private key in a file of the
// runner's temp dir for ssh. cleanup removes the key file.
func (s *Server) gitAuth(creds *schemas.RepoCredentials) (env []string, cleanup func(), err error) {
	cleanup = func() {}
	if creds.OAuthToken != nil && *creds.OAuthToken != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("oauth2:" + *creds.OAuthToken))
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic "+basic)
	}
	if creds.PrivateKey != nil && *creds.PrivateKey != "" {
		if err := os.MkdirAll(s.cfg.TempDir, 0o700); err != nil {
			return nil, cleanup, fmt.Errorf("create temp dir: %w", err)
		}
		f, err := os.CreateTemp(s.cfg.TempDir, "git-key-*")
		if err != nil {
			return nil, cleanup, fmt.Errorf("write the repo's private key: %w", err)
		}
		key := strings.TrimRight(*creds.PrivateKey, "\n") + "\n"
		_, err = f.WriteString(key)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		cleanup = func() { _ = os.Remove(f.Name()) }
		if err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("write the repo's private key: %w", err)
		}
		env = append(env, "GIT_SSH_COMMAND=ssh -i '"+f.Name()+"' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null")
	}
	return env, cleanup, nil
}

func git(ctx context.Context, dir string, args ...string) error {
	return gitWith(ctx, dir, nil, args...)
}

// gitWith runs git with extra environment.
func gitWith(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := credInURL.ReplaceAllString(out.String(), "//***@")
		return fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return nil
}

// checkArchiveDest refuses destinations a file archive must not replace
// (extracting removes what is there first): the root, a top-level
// directory, the job user's home or a directory above it.
func checkArchiveDest(dest string, env *jobEnv) error {
	dest = filepath.Clean(dest)
	refuse := func(what string) error {
		return fmt.Errorf("the destination %s is %s; a file archive replaces its destination, so it must be a path of its own (e.g. under the working directory)", dest, what)
	}
	switch {
	case !filepath.IsAbs(dest):
		return refuse("not an absolute path")
	case dest == "/" || filepath.Dir(dest) == "/":
		return refuse("the root or a top-level directory")
	}
	if env != nil && env.HomeDir != "" {
		home := filepath.Clean(env.HomeDir)
		if dest == home || strings.HasPrefix(home, dest+string(filepath.Separator)) {
			return refuse("the home directory or a directory above it")
		}
	}
	return nil
}

// setupFiles extracts the uploaded file archives at their job spec paths; the
// archive's top-level entry is renamed to the destination's base name.
func (s *Server) setupFiles(job *schemas.SubmitBody, env *jobEnv) error {
	dir := filepath.Join(s.cfg.TempDir, "file_archives")
	for _, fa := range job.JobSpec.FileArchives {
		dest, err := expandPath(fa.Path, env.WorkDir, env.HomeDir)
		if err != nil {
			return fmt.Errorf("archive %s: %w", fa.ID, err)
		}
		if err := extractArchive(filepath.Join(dir, fa.ID), dest, env); err != nil {
			return fmt.Errorf("archive %s: %w", fa.ID, err)
		}
	}
	return nil
}

var topLevel = regexp.MustCompile(`^(?:\./)?([^/]*)(/|$)`)

func extractArchive(archive, dest string, env *jobEnv) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	defer f.Close()
	if err := checkArchiveDest(dest, env); err != nil {
		return err
	}
	parent, base := filepath.Split(dest)
	if err := mkdirOwned(filepath.Clean(parent), env); err != nil {
		return fmt.Errorf("create destination dir: %w", err)
	}
	_ = os.RemoveAll(dest)
	rename := func(name string) string { return topLevel.ReplaceAllString(name, base+"$2") }
	return extractTar(f, parent, rename, env)
}
