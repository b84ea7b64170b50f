package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListProjects lists the projects the token may see.
func (c *Client) ListProjects(ctx context.Context) ([]schemas.Project, error) {
	var out []schemas.Project
	return out, c.Call(ctx, "/api/projects/list", schemas.ListProjectsRequest{}, &out)
}

// GetProject returns a project with its members.
func (c *Client) GetProject(ctx context.Context, name string) (*schemas.Project, error) {
	out := new(schemas.Project)
	return out, c.Call(ctx, "/api/projects/"+name+"/get", nil, out)
}

// CreateProject creates a project owned by the token's user.
func (c *Client) CreateProject(ctx context.Context, req schemas.CreateProjectRequest) (*schemas.Project, error) {
	out := new(schemas.Project)
	return out, c.Call(ctx, "/api/projects/create", req, out)
}

// DeleteProjects deletes projects.
func (c *Client) DeleteProjects(ctx context.Context, names []string) error {
	return c.Call(ctx, "/api/projects/delete", schemas.DeleteProjectsRequest{ProjectsNames: names}, nil)
}

// AddMembers adds members to a project.
func (c *Client) AddMembers(ctx context.Context, project string, ms []schemas.MemberSetting) (*schemas.Project, error) {
	out := new(schemas.Project)
	return out, c.Call(ctx, "/api/projects/"+project+"/add_members", schemas.SetProjectMembersRequest{Members: ms}, out)
}

// RemoveMembers removes members from a project.
func (c *Client) RemoveMembers(ctx context.Context, project string, usernames []string) (*schemas.Project, error) {
	out := new(schemas.Project)
	return out, c.Call(ctx, "/api/projects/"+project+"/remove_members", schemas.RemoveProjectMembersRequest{Usernames: usernames}, out)
}

// ListSecrets lists a project's secrets without values.
func (c *Client) ListSecrets(ctx context.Context, project string) ([]schemas.Secret, error) {
	var out []schemas.Secret
	return out, c.Call(ctx, "/api/project/"+project+"/secrets/list", nil, &out)
}

// GetSecret returns a secret with its value.
func (c *Client) GetSecret(ctx context.Context, project, name string) (*schemas.Secret, error) {
	out := new(schemas.Secret)
	return out, c.Call(ctx, "/api/project/"+project+"/secrets/get", schemas.GetSecretRequest{Name: name}, out)
}

// SetSecret creates or updates a secret.
func (c *Client) SetSecret(ctx context.Context, project, name, value string) (*schemas.Secret, error) {
	out := new(schemas.Secret)
	return out, c.Call(ctx, "/api/project/"+project+"/secrets/create_or_update", schemas.CreateOrUpdateSecretRequest{Name: name, Value: value}, out)
}

// DeleteSecrets deletes secrets.
func (c *Client) DeleteSecrets(ctx context.Context, project string, names []string) error {
	return c.Call(ctx, "/api/project/"+project+"/secrets/delete", schemas.DeleteSecretsRequest{SecretsNames: names}, nil)
}
