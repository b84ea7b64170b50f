package client

import (
	"context"
	"encoding/json"

	"github.com/dstackgo/dstack/server/schemas"
)

// BackendTypes lists the backend types the server can configure.
func (c *Client) BackendTypes(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.Call(ctx, "/api/backends/list_types", nil, &out)
}

// CreateBackendYAML configures a backend of the project from YAML.
func (c *Client) CreateBackendYAML(ctx context.Context, project, text string) error {
	return c.Call(ctx, "/api/project/"+project+"/backends/create_yaml", schemas.BackendYAMLRequest{ConfigYAML: text}, nil)
}

// UpdateBackendYAML replaces the project's backend of the YAML's type.
func (c *Client) UpdateBackendYAML(ctx context.Context, project, text string) error {
	return c.Call(ctx, "/api/project/"+project+"/backends/update_yaml", schemas.BackendYAMLRequest{ConfigYAML: text}, nil)
}

// DeleteBackends removes backends of the project.
func (c *Client) DeleteBackends(ctx context.Context, project string, types []string) error {
	return c.Call(ctx, "/api/project/"+project+"/backends/delete", schemas.DeleteBackendsRequest{BackendsNames: types}, nil)
}

// BackendConfigInfo returns the project's backend with its credentials.
func (c *Client) BackendConfigInfo(ctx context.Context, project, typ string) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.Call(ctx, "/api/project/"+project+"/backends/"+typ+"/config_info", nil, &out)
}
