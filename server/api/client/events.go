package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListEvents lists the events the token's user may see that match req.
func (c *Client) ListEvents(ctx context.Context, req schemas.ListEventsRequest) ([]schemas.Event, error) {
	var out []schemas.Event
	return out, c.Call(ctx, "/api/events/list", req, &out)
}

// EntityID returns the id of a named entity of a project that has a get
// route taking {"name": …} (volumes, gateways).
func (c *Client) EntityID(ctx context.Context, project, kind, name string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	return out.ID, c.Call(ctx, "/api/project/"+project+"/"+kind+"/get", map[string]string{"name": name}, &out)
}
