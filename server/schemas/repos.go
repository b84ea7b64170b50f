package schemas

import "encoding/json"

// RepoHead is a repo of a project; repo_info is kept as the client sent it.
type RepoHead struct {
	RepoID   string          `json:"repo_id"`
	RepoInfo json.RawMessage `json:"repo_info"`
}

// RepoHeadWithCreds adds the caller's credentials for the repo.
type RepoHeadWithCreds struct {
	RepoHead
	RepoCreds json.RawMessage `json:"repo_creds"`
}

// InitRepoRequest is the body of repos/init.
type InitRepoRequest struct {
	RepoID    string          `json:"repo_id"`
	RepoInfo  json.RawMessage `json:"repo_info"`
	RepoCreds json.RawMessage `json:"repo_creds"`
}

// GetRepoRequest is the body of repos/get.
type GetRepoRequest struct {
	RepoID       string `json:"repo_id"`
	IncludeCreds bool   `json:"include_creds"`
}

// DeleteReposRequest names repos to delete.
type DeleteReposRequest struct {
	ReposIDs []string `json:"repos_ids"`
}

// FileArchive is an uploaded files archive.
type FileArchive struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// GetFileArchiveByHashRequest is the body of files/get_archive_by_hash.
type GetFileArchiveByHashRequest struct {
	Hash string `json:"hash"`
}
