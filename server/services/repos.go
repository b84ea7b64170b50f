package services

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Repos manages repos, their credentials and uploaded code.
type Repos struct{ *Env }

var repoTypes = map[string]bool{"remote": true, "local": true, "virtual": true}

// Init creates or updates a repo; for remote repos the caller's credentials
// are stored (sealed) or removed.
func (s Repos) Init(ctx context.Context, actor *db.User, p *db.Project, req schemas.InitRepoRequest) error {
	if req.RepoID == "" {
		return InvalidField("repo_id", "repo_id is required")
	}
	var info struct {
		RepoType string `json:"repo_type"`
	}
	if err := json.Unmarshal(req.RepoInfo, &info); err != nil || !repoTypes[info.RepoType] {
		return InvalidField("repo_info", "repo_info.repo_type must be remote, local or virtual")
	}
	r := &db.Repo{ID: uuid.NewString(), ProjectID: p.ID, Name: req.RepoID, Type: info.RepoType, Info: string(req.RepoInfo)}
	if err := db.UpsertRepo(ctx, s.DB, r); err != nil {
		return err
	}
	stored, err := db.GetRepo(ctx, s.DB, p.ID, req.RepoID)
	if err != nil {
		return err
	}
	if info.RepoType != "remote" {
		return nil
	}
	if len(req.RepoCreds) == 0 || string(req.RepoCreds) == "null" {
		return db.DeleteRepoCreds(ctx, s.DB, stored.ID, actor.ID)
	}
	c := &db.RepoCreds{ID: uuid.NewString(), RepoID: stored.ID, UserID: actor.ID}
	if c.Creds, err = db.Seal(s.Sealer, db.RepoCredsCreds, c.ID, string(req.RepoCreds)); err != nil {
		return err
	}
	return db.SetRepoCreds(ctx, s.DB, c)
}

// Get returns a repo, with the caller's credentials when asked.
func (s Repos) Get(ctx context.Context, actor *db.User, p *db.Project, req schemas.GetRepoRequest) (*schemas.RepoHeadWithCreds, error) {
	r, err := db.GetRepo(ctx, s.DB, p.ID, req.RepoID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Repo %s not found", req.RepoID)
	} else if err != nil {
		return nil, err
	}
	out := &schemas.RepoHeadWithCreds{RepoHead: schemas.RepoHead{RepoID: r.Name, RepoInfo: json.RawMessage(r.Info)}, RepoCreds: json.RawMessage("null")}
	if !req.IncludeCreds {
		return out, nil
	}
	c, err := db.GetRepoCreds(ctx, s.DB, r.ID, actor.ID)
	if errors.Is(err, db.ErrNotFound) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	plain, err := db.Unseal(s.Sealer, db.RepoCredsCreds, c.ID, c.Creds)
	if err != nil {
		return nil, err
	}
	out.RepoCreds = json.RawMessage(plain)
	return out, nil
}

// List returns a project's repos.
func (s Repos) List(ctx context.Context, p *db.Project) ([]schemas.RepoHead, error) {
	rs, err := db.ListRepos(ctx, s.DB, p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.RepoHead, len(rs))
	for i, r := range rs {
		out[i] = schemas.RepoHead{RepoID: r.Name, RepoInfo: json.RawMessage(r.Info)}
	}
	return out, nil
}

// Delete removes repos.
func (s Repos) Delete(ctx context.Context, p *db.Project, ids []string) error {
	return db.DeleteRepos(ctx, s.DB, p.ID, ids)
}

// checkBlobHash refuses a blob whose declared name is not the sha256 of its
// content: blobs are found by hash, and a blob stored under someone else's
// future hash would be served in place of theirs.
func checkBlobHash(hash string, blob []byte) error {
	sum := sha256.Sum256(blob)
	got := hex.EncodeToString(sum[:])
	if !blobHashRe.MatchString(hash) {
		return InvalidField("file", "The upload's file name must be the sha256 hex digest of its content (%s), got %q", got, hash)
	}
	if hash != got {
		return InvalidField("file", "The upload is named %s, but its content hashes to %s (sha256); it was changed or cut short on the way", hash, got)
	}
	return nil
}

var blobHashRe = schemas.MustNameRule(`^[0-9a-f]{64}$`)

// UploadCode stores a code blob of a repo under its sha256.
func (s Repos) UploadCode(ctx context.Context, p *db.Project, repoID, hash string, blob []byte) error {
	if err := checkBlobHash(hash, blob); err != nil {
		return err
	}
	r, err := db.GetRepo(ctx, s.DB, p.ID, repoID)
	if errors.Is(err, db.ErrNotFound) {
		return NotFound("Repo %s not found; run repos/init first", repoID)
	} else if err != nil {
		return err
	}
	return db.InsertCode(ctx, s.DB, &db.Code{ID: uuid.NewString(), RepoID: r.ID, BlobHash: hash, Blob: blob})
}

// UploadArchive stores a user's files archive under its sha256.
func (s Repos) UploadArchive(ctx context.Context, actor *db.User, hash string, blob []byte) (*schemas.FileArchive, error) {
	if err := checkBlobHash(hash, blob); err != nil {
		return nil, err
	}
	a, err := db.InsertFileArchive(ctx, s.DB, &db.FileArchive{ID: uuid.NewString(), UserID: actor.ID, BlobHash: hash, Blob: blob})
	if err != nil {
		return nil, err
	}
	return &schemas.FileArchive{ID: a.ID, Hash: a.BlobHash}, nil
}

// ArchiveByHash finds a user's archive.
func (s Repos) ArchiveByHash(ctx context.Context, actor *db.User, hash string) (*schemas.FileArchive, error) {
	a, err := db.GetFileArchiveByHash(ctx, s.DB, actor.ID, hash)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("File archive %s not found", hash)
	} else if err != nil {
		return nil, err
	}
	return &schemas.FileArchive{ID: a.ID, Hash: a.BlobHash}, nil
}
