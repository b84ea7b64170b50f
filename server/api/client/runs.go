package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListRuns lists runs (POST /api/runs/list). The body is sent as given:
// the official CLI sends every field, nulls included.
func (c *Client) ListRuns(ctx context.Context, req schemas.ListRunsRequest) ([]schemas.Run, error) {
	var out []schemas.Run
	if err := c.Call(ctx, "/api/runs/list", req, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetRun returns a live run by name; a missing run is IsNotFound.
func (c *Client) GetRun(ctx context.Context, project, name string) (*schemas.Run, error) {
	out := new(schemas.Run)
	return out, c.Call(ctx, "/api/project/"+project+"/runs/get", schemas.GetRunRequest{RunName: &name}, out)
}

// GetRunPlan asks what applying a run spec would do, with the offers.
func (c *Client) GetRunPlan(ctx context.Context, project string, req schemas.GetRunPlanRequest) (*schemas.RunPlan, error) {
	out := new(schemas.RunPlan)
	return out, c.Call(ctx, "/api/project/"+project+"/runs/get_plan", req, out)
}

// ApplyRunPlan submits (or updates) a run.
func (c *Client) ApplyRunPlan(ctx context.Context, project string, req schemas.ApplyRunPlanRequest) (*schemas.Run, error) {
	out := new(schemas.Run)
	return out, c.Call(ctx, "/api/project/"+project+"/runs/apply", req, out)
}

// StopRuns stops runs gracefully, or at once when abort is set.
func (c *Client) StopRuns(ctx context.Context, project string, names []string, abort bool) error {
	return c.Call(ctx, "/api/project/"+project+"/runs/stop", schemas.StopRunsRequest{RunsNames: names, Abort: abort}, nil)
}

// DeleteRuns deletes finished runs.
func (c *Client) DeleteRuns(ctx context.Context, project string, names []string) error {
	return c.Call(ctx, "/api/project/"+project+"/runs/delete", schemas.DeleteRunsRequest{RunsNames: names}, nil)
}

// ListGpus lists the GPUs of a run spec's offers, grouped (gpus/list).
func (c *Client) ListGpus(ctx context.Context, project string, req schemas.ListGpusRequest) ([]schemas.GpuGroup, error) {
	out := new(schemas.ListGpusResponse)
	if err := c.Call(ctx, "/api/project/"+project+"/gpus/list", req, out); err != nil {
		return nil, err
	}
	return out.Gpus, nil
}
