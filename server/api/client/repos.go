package client

import (
	"context"
	"encoding/json"
)

// InitRepoRequest is the body of repos/init. RepoInfo and RepoCreds are
// discriminated unions (repo_type remote/local/virtual) passed through as
// JSON; a nil RepoCreds is sent as null. It lives here until server/schemas
// grows the repos models.
type InitRepoRequest struct {
	RepoID    string          `json:"repo_id"`
	RepoInfo  json.RawMessage `json:"repo_info"`
	RepoCreds json.RawMessage `json:"repo_creds"`
}

// VirtualRepoID is the repo id of the virtual repo runs without code use.
const VirtualRepoID = "none"

// VirtualRepoInfo is the repo_info (and run_spec.repo_data) of the virtual repo.
var VirtualRepoInfo = json.RawMessage(`{"repo_type":"virtual"}`)

// InitRepo creates or updates a repo of the project.
func (c *Client) InitRepo(ctx context.Context, project string, req InitRepoRequest) error {
	return c.Call(ctx, "/api/project/"+project+"/repos/init", req, nil)
}

// InitVirtualRepo registers the virtual repo, as the official CLI does
// before planning a run without `repos:`.
func (c *Client) InitVirtualRepo(ctx context.Context, project string) error {
	return c.InitRepo(ctx, project, InitRepoRequest{RepoID: VirtualRepoID, RepoInfo: VirtualRepoInfo})
}
