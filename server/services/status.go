package services

import (
	"context"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// Backlog is what a pipeline has waiting: a table and the rows it handles.
type Backlog struct {
	Name  string
	Table string
	Where string // plain SQL condition, no placeholders
}

// Backlogs are the pipelines the server status reports on.
var Backlogs = []Backlog{
	{PipelineInstances, "instances", "deleted = FALSE AND status IN ('pending', 'terminating')"},
	{PipelineFleets, "fleets", "deleted = FALSE AND status = 'terminating'"},
	{PipelineJobs, "jobs", "status = 'submitted'"},
	{PipelineRunning, "jobs", "status IN ('provisioning', 'pulling', 'running')"},
	{PipelineTerminate, "jobs", "status = 'terminating'"},
	{PipelineRuns, "runs", "deleted = FALSE AND status NOT IN ('terminated', 'failed', 'done')"},
}

// Status describes the running server for admins.
type Status struct {
	*Env
	Version   string
	Database  string
	StartedAt time.Time
	// Replication reports the database's replica; nil without one.
	Replication func() *schemas.ReplicationStatus
}

// Get counts each pipeline's backlog and how long its oldest row has waited.
func (s Status) Get(ctx context.Context) (*schemas.ServerStatus, error) {
	now := s.now()
	out := &schemas.ServerStatus{Version: s.Version, CompatibleVersion: schemas.CompatibleVersion, Database: s.Database,
		StartedAt: s.StartedAt.UTC(), UptimeSeconds: now.Sub(s.StartedAt).Seconds(), Pipelines: []schemas.PipelineStatus{}}
	if s.Logs != nil {
		out.LogStorage = s.Logs.Describe()
	}
	if s.Replication != nil {
		out.Replication = s.Replication()
	}
	for _, b := range Backlogs {
		var row struct {
			N      int        `bun:"n"`
			Oldest *time.Time `bun:"oldest"`
		}
		err := s.DB.NewSelect().TableExpr(b.Table).ColumnExpr("COUNT(*) AS n").ColumnExpr("MIN(last_processed_at) AS oldest").
			Where(b.Where).Scan(ctx, &row)
		if err != nil {
			return nil, err
		}
		ps := schemas.PipelineStatus{Name: b.Name, Backlog: row.N}
		if row.Oldest != nil && row.N > 0 {
			ps.LagSeconds = max(now.Sub(*row.Oldest).Seconds(), 0)
		}
		out.Pipelines = append(out.Pipelines, ps)
	}
	return out, nil
}
