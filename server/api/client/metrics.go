package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/dstackgo/dstack/server/schemas"
)

// GetJobMetrics returns the newest limit samples of a job's metric series
// (GET metrics/job/{run_name}), newest first.
func (c *Client) GetJobMetrics(ctx context.Context, project, run string, replicaNum, jobNum, limit int) (*schemas.JobMetrics, error) {
	q := url.Values{"replica_num": {strconv.Itoa(replicaNum)}, "job_num": {strconv.Itoa(jobNum)}, "limit": {strconv.Itoa(limit)}}
	out := new(schemas.JobMetrics)
	return out, c.Get(ctx, "/api/project/"+project+"/metrics/job/"+url.PathEscape(run), q, out)
}
