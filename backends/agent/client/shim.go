package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// ShimClient talks to a shim's HTTP API v2.
type ShimClient struct {
	base
}

// NewShimClient returns a client for the shim at baseURL (for example
// "http://127.0.0.1:10998"). A nil hc means http.DefaultClient.
func NewShimClient(hc *http.Client, baseURL string) *ShimClient {
	return &ShimClient{base: newBase(hc, baseURL)}
}

// Healthcheck calls GET /api/healthcheck.
func (c *ShimClient) Healthcheck(ctx context.Context) (*schemas.HealthcheckResponse, error) {
	var out schemas.HealthcheckResponse
	if err := c.doJSON(ctx, http.MethodGet, "/api/healthcheck", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InstanceInfo calls GET /api/instance/info.
func (c *ShimClient) InstanceInfo(ctx context.Context) (*schemas.InstanceInfoResponse, error) {
	var out schemas.InstanceInfoResponse
	if err := c.doJSON(ctx, http.MethodGet, "/api/instance/info", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Shutdown calls POST /api/shutdown.
func (c *ShimClient) Shutdown(ctx context.Context, force bool) error {
	return c.doJSON(ctx, http.MethodPost, "/api/shutdown", schemas.ShutdownRequest{Force: force}, nil)
}

// Components calls GET /api/components.
func (c *ShimClient) Components(ctx context.Context) (*schemas.ComponentListResponse, error) {
	var out schemas.ComponentListResponse
	if err := c.doJSON(ctx, http.MethodGet, "/api/components", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTasks calls GET /api/tasks.
func (c *ShimClient) ListTasks(ctx context.Context) (*schemas.TaskListResponse, error) {
	var out schemas.TaskListResponse
	if err := c.doJSON(ctx, http.MethodGet, "/api/tasks", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubmitTask calls POST /api/tasks; the shim starts the task in the background.
// A task with the same ID yields an *HTTPError with status 409.
func (c *ShimClient) SubmitTask(ctx context.Context, cfg schemas.TaskConfigBody) error {
	return c.doJSON(ctx, http.MethodPost, "/api/tasks", cfg, nil)
}

// GetTask calls GET /api/tasks/{id}; an unknown task yields status 404.
func (c *ShimClient) GetTask(ctx context.Context, id string) (*schemas.TaskInfoResponse, error) {
	var out schemas.TaskInfoResponse
	if err := c.doJSON(ctx, http.MethodGet, taskPath(id, ""), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TerminateTask calls POST /api/tasks/{id}/terminate.
func (c *ShimClient) TerminateTask(ctx context.Context, id string, req schemas.TaskTerminateRequest) error {
	return c.doJSON(ctx, http.MethodPost, taskPath(id, "/terminate"), req, nil)
}

// RemoveTask calls POST /api/tasks/{id}/remove; the task must be terminated
// (status 409 otherwise).
func (c *ShimClient) RemoveTask(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodPost, taskPath(id, "/remove"), nil, nil)
}

// TaskMetrics calls GET /metrics/tasks/{id} and returns the Prometheus text.
// Status 404 means that no metrics exporter is available.
func (c *ShimClient) TaskMetrics(ctx context.Context, id string) (string, error) {
	path := "/metrics/tasks/" + url.PathEscape(id)
	resp, err := c.request(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := readAnswer(http.MethodGet, path, resp.Body)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func taskPath(id, suffix string) string {
	return "/api/tasks/" + url.PathEscape(id) + suffix
}
