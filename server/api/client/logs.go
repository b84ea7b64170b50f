package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// PollLogs reads one page of a job submission's logs; messages are base64
// on the wire, as the server sends them.
func (c *Client) PollLogs(ctx context.Context, project string, req schemas.PollLogsRequest) (*schemas.JobSubmissionLogs, error) {
	out := new(schemas.JobSubmissionLogs)
	return out, c.Call(ctx, "/api/project/"+project+"/logs/poll", req, out)
}
