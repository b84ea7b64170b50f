package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// runsPageSize is the most runs one runs/list call returns (the server's cap).
const runsPageSize = 100

// HTTPBackend is the Backend over the server's HTTP API, with one user's token.
type HTTPBackend struct {
	Client *client.Client
}

// NewHTTPBackend returns a Backend calling the server through c.
func NewHTTPBackend(c *client.Client) *HTTPBackend { return &HTTPBackend{Client: c} }

// ListRuns implements Backend.
func (b *HTTPBackend) ListRuns(ctx context.Context, project string, onlyActive bool) ([]schemas.Run, error) {
	limit, subs, jobs := runsPageSize, 1, true
	req := schemas.ListRunsRequest{ProjectName: &project, OnlyActive: onlyActive, Limit: &limit,
		JobSubmissionsLimit: &subs, IncludeJobs: &jobs}
	var out []schemas.Run
	return out, b.call(ctx, "/api/runs/list", req, &out)
}

// GetRun implements Backend.
func (b *HTTPBackend) GetRun(ctx context.Context, project, name string) (*schemas.Run, error) {
	out := new(schemas.Run)
	return out, b.call(ctx, projectPath(project, "runs/get"), schemas.GetRunRequest{RunName: &name}, out)
}

// ServiceStats implements Backend.
func (b *HTTPBackend) ServiceStats(ctx context.Context, project string) ([]schemas.ServiceStats, error) {
	var out []schemas.ServiceStats
	return out, b.call(ctx, projectPath(project, "services/stats"), struct{}{}, &out)
}

// StopRun implements Backend.
func (b *HTTPBackend) StopRun(ctx context.Context, project, name string, abort bool) error {
	req := schemas.StopRunsRequest{RunsNames: []string{name}, Abort: abort}
	return b.call(ctx, projectPath(project, "runs/stop"), req, nil)
}

// ListFleets implements Backend.
func (b *HTTPBackend) ListFleets(ctx context.Context, project string) ([]schemas.Fleet, error) {
	var out []schemas.Fleet
	return out, b.call(ctx, projectPath(project, "fleets/list"), schemas.ListProjectFleetsRequest{}, &out)
}

// PollLogs implements Backend.
func (b *HTTPBackend) PollLogs(ctx context.Context, project string, req schemas.PollLogsRequest) (*schemas.JobSubmissionLogs, error) {
	out := new(schemas.JobSubmissionLogs)
	return out, b.call(ctx, projectPath(project, "logs/poll"), req, out)
}

// EncryptionStatus implements Backend.
func (b *HTTPBackend) EncryptionStatus(ctx context.Context) (*schemas.EncryptionStatus, error) {
	out := new(schemas.EncryptionStatus)
	return out, b.call(ctx, "/api/admin/encryption/status", nil, out)
}

// ServerStatus implements Backend.
func (b *HTTPBackend) ServerStatus(ctx context.Context) (*schemas.ServerStatus, error) {
	out := new(schemas.ServerStatus)
	return out, b.call(ctx, "/api/admin/server/status", nil, out)
}

// ListEvents implements Backend: the last page of events within the project.
func (b *HTTPBackend) ListEvents(ctx context.Context, project string) ([]schemas.Event, error) {
	var p schemas.Project
	if err := b.call(ctx, "/api/projects/"+url.PathEscape(project)+"/get", nil, &p); err != nil {
		return nil, err
	}
	limit := eventsPageSize
	var out []schemas.Event
	return out, b.call(ctx, "/api/events/list", schemas.ListEventsRequest{WithinProjects: []string{p.ProjectID}, Limit: &limit}, &out)
}

// eventsPageSize is how many events the Events page shows (the route's maximum).
const eventsPageSize = 100

// ListBackends implements Backend: projects/list names the projects,
// projects/{name}/get gives each one's backends (a project the user may
// not read is left out).
func (b *HTTPBackend) ListBackends(ctx context.Context) ([]ProjectBackends, error) {
	var ps []schemas.Project
	if err := b.call(ctx, "/api/projects/list", nil, &ps); err != nil {
		return nil, err
	}
	out := make([]ProjectBackends, 0, len(ps))
	for _, p := range ps {
		var full schemas.Project
		err := b.call(ctx, "/api/projects/"+url.PathEscape(p.ProjectName)+"/get", nil, &full)
		if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotAvailable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pb := ProjectBackends{Project: p.ProjectName}
		for _, bi := range full.Backends {
			var head struct {
				Type    string   `json:"type"`
				Regions []string `json:"regions"`
			}
			if err := json.Unmarshal(bi.Config, &head); err != nil {
				return nil, fmt.Errorf("backend %s of project %s: %w", bi.Name, p.ProjectName, err)
			}
			pb.Backends = append(pb.Backends, BackendRow{Type: head.Type, Regions: head.Regions, Config: bi.Config})
		}
		out = append(out, pb)
	}
	return out, nil
}

// Whoami implements Backend: the token's user and the server's version.
func (b *HTTPBackend) Whoami(ctx context.Context) (*Identity, error) {
	var me schemas.UserWithCreds
	if err := b.call(ctx, "/api/users/get_my_user", nil, &me); err != nil {
		return nil, err
	}
	id := &Identity{Username: me.Username, Admin: me.GlobalRole == schemas.GlobalRoleAdmin, ServerURL: b.Client.URL}
	var info schemas.ServerInfo
	if err := b.call(ctx, "/api/server/get_info", nil, &info); err == nil && info.ServerVersion != nil {
		id.ServerVersion = *info.ServerVersion
	}
	return id, nil
}

func (b *HTTPBackend) call(ctx context.Context, path string, req, resp any) error {
	return classify(b.Client.Call(ctx, path, req, resp))
}

func projectPath(project, route string) string {
	return "/api/project/" + url.PathEscape(project) + "/" + route
}

// classify wraps the client's errors with the sentinels the pages tell apart.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *client.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ce):
		switch {
		case ce.Status == http.StatusNotFound || ce.Status == http.StatusMethodNotAllowed:
			return fmt.Errorf("%w (%w)", ErrNotAvailable, err)
		case ce.Status == http.StatusForbidden || ce.Status == http.StatusUnauthorized:
			return fmt.Errorf("%w (%w)", ErrForbidden, err)
		case ce.Status >= http.StatusBadGateway:
			return fmt.Errorf("%w (%w)", ErrUnreachable, err)
		}
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ue), errors.Is(err, context.DeadlineExceeded),
		// The client flattens dial errors into this sentence.
		strings.HasPrefix(err.Error(), "cannot reach the dstack server"):
		return fmt.Errorf("%w (%w)", ErrUnreachable, err)
	}
	return err // an answer the client could not decode, a request it could not encode
}
