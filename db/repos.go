package db

import (
	"context"

	"github.com/uptrace/bun"
)

// GetRepo finds a project's repo by its repo_id.
func GetRepo(ctx context.Context, idb bun.IDB, projectID, name string) (*Repo, error) {
	r := new(Repo)
	err := idb.NewSelect().Model(r).Where("project_id = ?", projectID).Where("name = ?", name).Scan(ctx)
	return r, mapErr(err)
}

// ListRepos returns a project's repos.
func ListRepos(ctx context.Context, idb bun.IDB, projectID string) ([]Repo, error) {
	var rs []Repo
	err := idb.NewSelect().Model(&rs).Where("project_id = ?", projectID).OrderExpr("name").Scan(ctx)
	return rs, mapErr(err)
}

// UpsertRepo creates a repo or updates its type and info; r.ID is the
// stored row's id afterwards.
func UpsertRepo(ctx context.Context, idb bun.IDB, r *Repo) error {
	_, err := idb.NewInsert().Model(r).On("CONFLICT (project_id, name) DO UPDATE").
		Set("type = EXCLUDED.type").Set("info = EXCLUDED.info").Returning("id").Exec(ctx)
	return mapErr(err)
}

// DeleteRepos removes a project's repos by repo_id.
func DeleteRepos(ctx context.Context, idb bun.IDB, projectID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := idb.NewDelete().Model((*Repo)(nil)).Where("project_id = ?", projectID).Where("name IN (?)", bun.In(names)).Exec(ctx)
	return mapErr(err)
}

// GetRepoCreds returns a user's credentials for a repo.
func GetRepoCreds(ctx context.Context, idb bun.IDB, repoID, userID string) (*RepoCreds, error) {
	c := new(RepoCreds)
	err := idb.NewSelect().Model(c).Where("repo_id = ?", repoID).Where("user_id = ?", userID).Scan(ctx)
	return c, mapErr(err)
}

// SetRepoCreds stores or replaces a user's credentials for a repo (c.ID must
// be the id the value was sealed for).
func SetRepoCreds(ctx context.Context, idb bun.IDB, c *RepoCreds) error {
	_, err := idb.NewInsert().Model(c).On("CONFLICT (repo_id, user_id) DO UPDATE").
		Set("creds = EXCLUDED.creds").Set("id = EXCLUDED.id").Exec(ctx)
	return mapErr(err)
}

// DeleteRepoCreds removes a user's credentials for a repo.
func DeleteRepoCreds(ctx context.Context, idb bun.IDB, repoID, userID string) error {
	_, err := idb.NewDelete().Model((*RepoCreds)(nil)).Where("repo_id = ?", repoID).Where("user_id = ?", userID).Exec(ctx)
	return mapErr(err)
}

// InsertCode stores a code blob under its hash. The caller has checked
// that the blob hashes to it, so a blob already stored under the hash is
// the same one, unless an earlier version stored a blob under a hash it did
// not check: that one is replaced.
func InsertCode(ctx context.Context, idb bun.IDB, c *Code) error {
	_, err := idb.NewInsert().Model(c).On("CONFLICT (repo_id, blob_hash) DO UPDATE").
		Set("blob = EXCLUDED.blob").Exec(ctx)
	return mapErr(err)
}

// GetCode finds a repo's code blob by hash.
func GetCode(ctx context.Context, idb bun.IDB, repoID, hash string) (*Code, error) {
	c := new(Code)
	err := idb.NewSelect().Model(c).Where("repo_id = ?", repoID).Where("blob_hash = ?", hash).Scan(ctx)
	return c, mapErr(err)
}

// InsertFileArchive stores a user's archive under its hash (checked by the
// caller, as for InsertCode) and returns the stored row, whose id stays the
// first upload's.
func InsertFileArchive(ctx context.Context, idb bun.IDB, a *FileArchive) (*FileArchive, error) {
	if _, err := idb.NewInsert().Model(a).On("CONFLICT (user_id, blob_hash) DO UPDATE").
		Set("blob = EXCLUDED.blob").Exec(ctx); err != nil {
		return nil, mapErr(err)
	}
	return GetFileArchiveByHash(ctx, idb, a.UserID, a.BlobHash)
}

// GetFileArchiveByHash finds a user's archive by hash.
func GetFileArchiveByHash(ctx context.Context, idb bun.IDB, userID, hash string) (*FileArchive, error) {
	a := new(FileArchive)
	err := idb.NewSelect().Model(a).Where("user_id = ?", userID).Where("blob_hash = ?", hash).Scan(ctx)
	return a, mapErr(err)
}

// GetUserFileArchive finds an archive by id among a user's own: archive ids
// show in runs that every member of a project sees, but only the uploader
// may mount an archive.
func GetUserFileArchive(ctx context.Context, idb bun.IDB, id, userID string) (*FileArchive, error) {
	a := new(FileArchive)
	err := idb.NewSelect().Model(a).Where("id = ?", id).Where("user_id = ?", userID).Scan(ctx)
	return a, mapErr(err)
}
