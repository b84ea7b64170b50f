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

// ListRunsForTable is ListRuns for tables of runs (dstack ps): of each
// spec only the identity is decoded, the run's name and each job's replica,
// job number and name. A page of 100 runs is mostly specs that a table
// never shows; decoding them doubled `dstack ps` (BenchmarkPs, 100 runs:
// 19.6 ms with full specs, 12.4-13.0 ms without).
func (c *Client) ListRunsForTable(ctx context.Context, req schemas.ListRunsRequest) ([]schemas.Run, error) {
	type jobRow struct {
		schemas.Job
		JobSpec struct {
			ReplicaNum int    `json:"replica_num"`
			JobNum     int    `json:"job_num"`
			JobName    string `json:"job_name"`
		} `json:"job_spec"`
	}
	// The outer fields shadow the embedded specs (encoding/json prefers
	// the shallower field of a name).
	var page []struct {
		schemas.Run
		RunSpec struct {
			RunName *string `json:"run_name"`
		} `json:"run_spec"`
		Jobs []jobRow `json:"jobs"`
	}
	if err := c.Call(ctx, "/api/runs/list", req, &page); err != nil {
		return nil, err
	}
	out := make([]schemas.Run, len(page))
	for i, p := range page {
		out[i] = p.Run
		out[i].RunSpec = schemas.RunSpec{RunName: p.RunSpec.RunName}
		out[i].Jobs = make([]schemas.Job, len(p.Jobs))
		for k, j := range p.Jobs {
			out[i].Jobs[k] = j.Job
			out[i].Jobs[k].JobSpec = schemas.JobSpec{ReplicaNum: j.JobSpec.ReplicaNum, JobNum: j.JobSpec.JobNum, JobName: j.JobSpec.JobName}
		}
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
