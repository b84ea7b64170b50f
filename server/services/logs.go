package services

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/schemas"
)

// Logs serves job logs.
type Logs struct{ *Env }

// Poll reads one page of a job submission's log; messages go out base64,
// as the official client expects.
func (s Logs) Poll(ctx context.Context, p *db.Project, req schemas.PollLogsRequest) (*schemas.JobSubmissionLogs, error) {
	limit := 100
	if req.Limit != nil {
		if *req.Limit < 0 || *req.Limit > 1000 {
			return nil, InvalidField("limit", "limit must be between 0 and 1000, got %d", *req.Limit)
		}
		limit = *req.Limit
	}
	j, err := db.GetJob(ctx, s.DB, req.JobSubmissionID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (j.ProjectID != p.ID || j.RunName != req.RunName)) {
		return nil, NotFound("Job submission %s of run %s not found", req.JobSubmissionID, req.RunName)
	} else if err != nil {
		return nil, err
	}
	if j.Status == string(schemas.JobRunning) && j.RunnerTimestamp == nil && j.LogsWantedAt == nil {
		// Logs come from what the server pulled from the runner, and a job
		// just started is pulled after a while (sched.RunnerPullDue):
		// asking for them brings the pull forward.
		first, err := db.MarkLogsWanted(ctx, s.DB, j.ID, string(schemas.JobRunning), s.now())
		if err != nil {
			return nil, err
		}
		if first {
			s.WakeUp(PipelineRunning)
		}
	}
	page, err := s.Logs.Poll(ctx, logstore.Query{
		Key:       logstore.Key{Project: p.Name, Run: req.RunName, JobSubmissionID: j.ID, Diagnose: req.Diagnose},
		StartTime: req.StartTime, EndTime: req.EndTime, Descending: req.Descending, NextToken: req.NextToken, Limit: limit,
	})
	if errors.Is(err, logstore.ErrBadToken) {
		return nil, InvalidField("next_token", "%v", err)
	} else if err != nil {
		return nil, err
	}
	out := &schemas.JobSubmissionLogs{Logs: make([]schemas.LogEvent, 0, len(page.Entries)), NextToken: page.NextToken, ExternalURL: page.ExternalURL}
	for _, e := range page.Entries {
		out.Logs = append(out.Logs, schemas.LogEvent{Timestamp: e.Timestamp.UTC(), LogSource: e.Source,
			Message: base64.StdEncoding.EncodeToString([]byte(e.Message))})
	}
	return out, nil
}
