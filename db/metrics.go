package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// JobMetricsPoint is a row of job_metrics_points: one sample of a running
// job's resource usage, as its runner reported it.
type JobMetricsPoint struct {
	bun.BaseModel `bun:"table:job_metrics_points,alias:jmp"`

	ID                    string `bun:"id,pk"`
	JobID                 string `bun:"job_id"`
	TimestampMicro        int64  `bun:"timestamp_micro"`
	CPUUsageMicro         int64  `bun:"cpu_usage_micro"`
	MemoryUsageBytes      int64  `bun:"memory_usage_bytes"`
	MemoryWorkingSetBytes int64  `bun:"memory_working_set_bytes"`
	GpusMemoryUsageBytes  string `bun:"gpus_memory_usage_bytes"` // JSON array, one value per GPU
	GpusUtilPercent       string `bun:"gpus_util_percent"`       // JSON array, one value per GPU
}

// InsertJobMetricsPoints stores samples.
func InsertJobMetricsPoints(ctx context.Context, idb bun.IDB, points []JobMetricsPoint) error {
	if len(points) == 0 {
		return nil
	}
	_, err := idb.NewInsert().Model(&points).Exec(ctx)
	return mapErr(err)
}

// MetricsWindow narrows ListJobMetricsPoints: points at or after After and
// before Before (Unix µs, 0: no bound), the newest Limit of them (0: all).
type MetricsWindow struct {
	After, Before int64
	Limit         int
}

// ListJobMetricsPoints returns a job's samples in the window, newest first.
func ListJobMetricsPoints(ctx context.Context, idb bun.IDB, jobID string, w MetricsWindow) ([]JobMetricsPoint, error) {
	var out []JobMetricsPoint
	q := idb.NewSelect().Model(&out).Where("job_id = ?", jobID).OrderExpr("timestamp_micro DESC")
	if w.After != 0 {
		q = q.Where("timestamp_micro >= ?", w.After)
	}
	if w.Before != 0 {
		q = q.Where("timestamp_micro < ?", w.Before)
	}
	if w.Limit > 0 {
		q = q.Limit(int64(w.Limit))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// JobsWithMetricsSince returns which of jobIDs have a sample newer than
// since (Unix µs): another pass or replica sampled them recently.
func JobsWithMetricsSince(ctx context.Context, idb bun.IDB, jobIDs []string, since int64) (map[string]bool, error) {
	out := map[string]bool{}
	if len(jobIDs) == 0 {
		return out, nil
	}
	var ids []string
	err := idb.NewSelect().Model((*JobMetricsPoint)(nil)).Column("job_id").Distinct().
		Where("job_id IN (?)", bun.In(jobIDs)).Where("timestamp_micro > ?", since).Scan(ctx, &ids)
	if err != nil {
		return nil, mapErr(err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// DeleteJobMetricsPoints deletes the samples older than before (Unix µs)
// of the jobs whose status is one of statuses, and reports how many.
func DeleteJobMetricsPoints(ctx context.Context, idb bun.IDB, statuses []string, before int64) (int64, error) {
	res, err := idb.NewDelete().Model((*JobMetricsPoint)(nil)).
		Where("job_id IN (SELECT id FROM jobs WHERE status IN (?))", bun.In(statuses)).
		Where("timestamp_micro < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete job metrics: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ListRunningJobs returns up to limit running jobs, the least recently
// processed first.
func ListRunningJobs(ctx context.Context, idb bun.IDB, limit int) ([]Job, error) {
	var out []Job
	err := idb.NewSelect().Model(&out).Where("status = ?", "running").OrderExpr("last_processed_at ASC").
		Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// GetRunJob returns the latest submission of job jobNum of replica
// replicaNum of a run, by the run's id or else its live run's name.
func GetRunJob(ctx context.Context, idb bun.IDB, projectID, runName, runID string, replicaNum, jobNum int) (*Job, error) {
	j := new(Job)
	q := idb.NewSelect().Model(j).Join("JOIN runs AS r ON r.id = j.run_id").
		Where("r.project_id = ?", projectID).Where("r.run_name = ?", runName).
		Where("j.replica_num = ?", replicaNum).Where("j.job_num = ?", jobNum)
	if runID != "" {
		q = q.Where("r.id = ?", runID)
	} else {
		q = q.Where("r.deleted = ?", false)
	}
	err := q.OrderExpr("j.submission_num DESC").Limit(1).Scan(ctx)
	return j, mapErr(err)
}
