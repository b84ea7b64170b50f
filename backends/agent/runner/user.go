package runner

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"syscall"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// jobEnv is what /api/run resolves before the job starts.
type jobEnv struct {
	Username string
	UID, GID int
	HomeDir  string
	WorkDir  string
	// Cred switches the job to another user; nil runs it as the runner's user.
	Cred *syscall.Credential
}

// prepareJob resolves the job user and creates the working dir.
func (s *Server) prepareJob(job *schemas.SubmitBody) (*jobEnv, error) {
	env, err := resolveUser(job.JobSpec.User)
	if err != nil {
		return nil, fmt.Errorf("resolve job user: %w", err)
	}
	if env.WorkDir, err = s.workDir(job.JobSpec.WorkingDir, env.HomeDir); err != nil {
		return nil, err
	}
	if err := mkdirOwned(env.WorkDir, env); err != nil {
		return nil, fmt.Errorf("create working dir: %w", err)
	}
	return env, nil
}

func (s *Server) workDir(spec *string, home string) (string, error) {
	if spec == nil || *spec == "" {
		if s.cfg.WorkDir != "" {
			return s.cfg.WorkDir, nil
		}
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("get working dir: %w", err)
		}
		return wd, nil
	}
	wd, err := expandPath(*spec, "", home)
	if err != nil {
		return "", fmt.Errorf("expand working dir: %w", err)
	}
	if !path.IsAbs(wd) {
		return "", fmt.Errorf("working dir must be absolute: %s", wd)
	}
	return wd, nil
}

// resolveUser maps the job spec's user onto a local account. Without a user
// (or with the runner's own uid) the job runs as the runner's user; switching
// users needs the runner to be root.
func resolveUser(spec *schemas.User) (*jobEnv, error) {
	cur, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	target := cur
	switch {
	case spec == nil:
	case spec.Username != nil && *spec.Username != "":
		if target, err = user.Lookup(*spec.Username); err != nil {
			return nil, fmt.Errorf("lookup user %q: %w", *spec.Username, err)
		}
	case spec.UID != nil:
		if target, err = user.LookupId(strconv.FormatUint(uint64(*spec.UID), 10)); err != nil {
			target = &user.User{Uid: strconv.FormatUint(uint64(*spec.UID), 10), Username: "", HomeDir: "/"}
			target.Gid = target.Uid
		}
	}
	env := &jobEnv{Username: target.Username, HomeDir: target.HomeDir}
	env.UID, _ = strconv.Atoi(target.Uid)
	env.GID, _ = strconv.Atoi(target.Gid)
	if spec != nil && spec.GID != nil {
		env.GID = int(*spec.GID)
	}
	if env.Username == "" {
		env.Username = target.Uid
	}
	if env.HomeDir == "" {
		env.HomeDir = "/"
	}
	if target.Uid != cur.Uid || (spec != nil && spec.GID != nil && target.Gid != strconv.Itoa(env.GID)) {
		if os.Geteuid() != 0 {
			return nil, errors.New("switching the job user requires the runner to run as root")
		}
		env.Cred = &syscall.Credential{Uid: uint32(env.UID), Gid: uint32(env.GID)}
	}
	return env, nil
}

// expandPath expands "~" against home and joins relative paths to base.
func expandPath(p, base, home string) (string, error) {
	p = path.Clean(p)
	if p == "~" {
		return path.Clean(home), nil
	}
	if len(p) >= 2 && p[0] == '~' {
		if p[1] != '/' {
			return "", errors.New("~username paths are not supported")
		}
		return path.Join(home, p[2:]), nil
	}
	if base != "" && !path.IsAbs(p) {
		return path.Join(base, p), nil
	}
	return p, nil
}

// mkdirOwned creates dir (and parents) and hands new directories to the job user.
func mkdirOwned(dir string, env *jobEnv) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := path.Dir(dir)
	if parent != dir {
		if err := mkdirOwned(parent, env); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	if env.Cred != nil {
		_ = os.Chown(dir, env.UID, env.GID)
	}
	return nil
}
