package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// jobInputs is what the runner gets besides the job itself: the file
// archives and the code the run's user uploaded, and that user's
// credentials for a remote repo.
type jobInputs struct {
	archives []archiveBlob
	code     []byte
	creds    *agent.RepoCredentials
}

type archiveBlob struct {
	id   string
	blob []byte
}

// loadInputs reads the job's inputs. A refusal (not an error: retrying
// cannot help) says why the job cannot start, for its termination message.
func (p *JobsRunning) loadInputs(ctx context.Context, j *db.Job, d *jobData, run *db.Run, rs *schemas.RunSpec) (*jobInputs, string, error) {
	in := &jobInputs{}
	for _, fa := range d.spec.FileArchives {
		// Only the run's user's own uploads: archive ids show in runs that
		// every member of the project sees.
		a, err := db.GetUserFileArchive(ctx, p.Env.DB, fa.ID, run.UserID)
		if errors.Is(err, db.ErrNotFound) {
			return nil, fmt.Sprintf("file archive %s of the job is gone, or was not uploaded by the run's user", fa.ID), nil
		} else if err != nil {
			return nil, "", fmt.Errorf("load file archive %s: %w", fa.ID, err)
		}
		in.archives = append(in.archives, archiveBlob{id: fa.ID, blob: a.Blob})
	}
	if rs.RepoID == nil {
		return in, "", nil
	}
	repo, err := db.GetRepo(ctx, p.Env.DB, j.ProjectID, *rs.RepoID)
	if errors.Is(err, db.ErrNotFound) {
		return in, "", nil // the virtual repo "none" of runs without one
	} else if err != nil {
		return nil, "", err
	}
	if d.spec.RepoCodeHash != nil {
		if c, err := db.GetCode(ctx, p.Env.DB, repo.ID, *d.spec.RepoCodeHash); err == nil {
			in.code = c.Blob
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, "", err
		}
	}
	var data agent.RepoData
	if len(rs.RepoData) > 0 {
		if err := json.Unmarshal(rs.RepoData, &data); err != nil {
			return nil, "", fmt.Errorf("decode the run's repo_data: %w", err)
		}
	}
	if data.RepoType != "remote" {
		return in, "", nil
	}
	refusal, err := p.loadRepoCreds(ctx, in, repo, run)
	return in, refusal, err
}

// loadRepoCreds reads the run's user's credentials of a remote repo (what
// repos/init stored), which the runner clones with.
func (p *JobsRunning) loadRepoCreds(ctx context.Context, in *jobInputs, repo *db.Repo, run *db.Run) (string, error) {
	c, err := db.GetRepoCreds(ctx, p.Env.DB, repo.ID, run.UserID)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Sprintf("the remote repo %s has no clone credentials of the run's user; initialize it again (dstack init) to store them", repo.Name), nil
	} else if err != nil {
		return "", err
	}
	plain, err := db.Unseal(p.Env.Sealer, db.RepoCredsCreds, c.ID, c.Creds)
	if err != nil {
		return "", fmt.Errorf("read the credentials of repo %s: %w", repo.Name, err)
	}
	creds := new(agent.RepoCredentials)
	if err := json.Unmarshal([]byte(plain), creds); err != nil || creds.CloneURL == "" {
		return fmt.Sprintf("the stored credentials of the remote repo %s have no clone_url; initialize it again (dstack init)", repo.Name), nil
	}
	in.creds = creds
	return "", nil
}
