package client

import (
	"context"
	"encoding/json"

	"github.com/dstackgo/dstack/server/schemas"
)

// VirtualRepoID is the repo id of the virtual repo runs without code use.
const VirtualRepoID = "none"

// VirtualRepoInfo is the repo_info (and run_spec.repo_data) of the virtual repo.
var VirtualRepoInfo = json.RawMessage(`{"repo_type":"virtual"}`)

// InitRepo creates or updates a repo of the project; a nil RepoCreds is
// sent as null.
func (c *Client) InitRepo(ctx context.Context, project string, req schemas.InitRepoRequest) error {
	return c.Call(ctx, "/api/project/"+project+"/repos/init", req, nil)
}

// InitVirtualRepo registers the virtual repo, as the official CLI does
// before planning a run without `repos:`.
func (c *Client) InitVirtualRepo(ctx context.Context, project string) error {
	return c.InitRepo(ctx, project, schemas.InitRepoRequest{RepoID: VirtualRepoID, RepoInfo: VirtualRepoInfo})
}
