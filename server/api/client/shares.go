package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListVolumes lists a project's volumes.
func (c *Client) ListVolumes(ctx context.Context, project string) ([]schemas.Volume, error) {
	var out []schemas.Volume
	return out, c.Call(ctx, "/api/project/"+project+"/volumes/list", nil, &out)
}

// GetVolume returns a volume; a missing one is IsNotFound.
func (c *Client) GetVolume(ctx context.Context, project, name string) (*schemas.Volume, error) {
	out := new(schemas.Volume)
	return out, c.Call(ctx, "/api/project/"+project+"/volumes/get", schemas.GetVolumeRequest{Name: name}, out)
}

// DeleteVolumes deletes volumes by name.
func (c *Client) DeleteVolumes(ctx context.Context, project string, names []string) error {
	return c.Call(ctx, "/api/project/"+project+"/volumes/delete", schemas.DeleteVolumesRequest{Names: names}, nil)
}

// ListGateways lists a project's gateways, imported ones included.
func (c *Client) ListGateways(ctx context.Context, project string) ([]schemas.Gateway, error) {
	var out []schemas.Gateway
	return out, c.Call(ctx, "/api/project/"+project+"/gateways/list", schemas.ListGatewaysRequest{IncludeImported: true}, &out)
}

// ListExports lists a project's exports.
func (c *Client) ListExports(ctx context.Context, project string) ([]schemas.Export, error) {
	var out []schemas.Export
	return out, c.Call(ctx, "/api/project/"+project+"/exports/list", nil, &out)
}

// CreateExport creates an export.
func (c *Client) CreateExport(ctx context.Context, project string, req schemas.CreateExportRequest) (*schemas.Export, error) {
	out := new(schemas.Export)
	return out, c.Call(ctx, "/api/project/"+project+"/exports/create", req, out)
}

// DeleteExport deletes an export by name.
func (c *Client) DeleteExport(ctx context.Context, project, name string) error {
	return c.Call(ctx, "/api/project/"+project+"/exports/delete", schemas.DeleteExportRequest{Name: name}, nil)
}

// ListImports lists the exports a project imports.
func (c *Client) ListImports(ctx context.Context, project string) ([]schemas.Import, error) {
	var out []schemas.Import
	return out, c.Call(ctx, "/api/project/"+project+"/imports/list", nil, &out)
}
