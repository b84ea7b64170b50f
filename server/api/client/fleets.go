package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListFleets lists a project's fleets, imported ones included, as the
// official CLI asks for them ({"include_imported": true}).
func (c *Client) ListFleets(ctx context.Context, project string) ([]schemas.Fleet, error) {
	var out []schemas.Fleet
	return out, c.Call(ctx, "/api/project/"+project+"/fleets/list", schemas.ListProjectFleetsRequest{IncludeImported: true}, &out)
}

// GetFleet returns a fleet by name; a missing fleet is IsNotFound.
func (c *Client) GetFleet(ctx context.Context, project, name string) (*schemas.Fleet, error) {
	out := new(schemas.Fleet)
	return out, c.Call(ctx, "/api/project/"+project+"/fleets/get", schemas.GetFleetRequest{Name: &name}, out)
}

// GetFleetByID returns a fleet by id.
func (c *Client) GetFleetByID(ctx context.Context, project, id string) (*schemas.Fleet, error) {
	out := new(schemas.Fleet)
	return out, c.Call(ctx, "/api/project/"+project+"/fleets/get", schemas.GetFleetRequest{ID: &id}, out)
}

// GetFleetPlan asks what applying a fleet spec would do, with the offers.
func (c *Client) GetFleetPlan(ctx context.Context, project string, spec schemas.FleetSpec) (*schemas.FleetPlan, error) {
	out := new(schemas.FleetPlan)
	return out, c.Call(ctx, "/api/project/"+project+"/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, out)
}

// ApplyFleetPlan creates (or updates) a fleet.
func (c *Client) ApplyFleetPlan(ctx context.Context, project string, req schemas.ApplyFleetPlanRequest) (*schemas.Fleet, error) {
	out := new(schemas.Fleet)
	return out, c.Call(ctx, "/api/project/"+project+"/fleets/apply", req, out)
}

// DeleteFleets starts deleting fleets; deletion finishes in the background.
func (c *Client) DeleteFleets(ctx context.Context, project string, names []string) error {
	return c.Call(ctx, "/api/project/"+project+"/fleets/delete", schemas.DeleteFleetsRequest{Names: names}, nil)
}

// DeleteFleetInstances terminates some instances of a fleet.
func (c *Client) DeleteFleetInstances(ctx context.Context, project, name string, nums []int) error {
	return c.Call(ctx, "/api/project/"+project+"/fleets/delete_instances", schemas.DeleteFleetInstancesRequest{Name: name, InstanceNums: nums}, nil)
}
