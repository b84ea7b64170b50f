package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// JobProbe is a row of job_probes: the state of one probe (by its index in
// the job spec's probes) of a running service job.
type JobProbe struct {
	bun.BaseModel `bun:"table:job_probes,alias:jp"`

	ID              string     `bun:"id,pk"`
	JobID           string     `bun:"job_id"`
	ProbeNum        int        `bun:"probe_num"`
	SuccessStreak   int        `bun:"success_streak"`
	ProbedAt        *time.Time `bun:"probed_at"`
	Active          bool       `bun:"active"`
	LastProcessedAt time.Time  `bun:"last_processed_at"`
	Lease
}

// EnsureJobProbes adds the rows of a job's n probes that are missing, so
// that the probes pipeline starts probing it; existing rows are kept.
func EnsureJobProbes(ctx context.Context, idb bun.IDB, jobID string, n int, now time.Time) error {
	if n == 0 {
		return nil
	}
	rows := make([]JobProbe, n)
	for i := range rows {
		rows[i] = JobProbe{ID: uuid.NewString(), JobID: jobID, ProbeNum: i, Active: true, LastProcessedAt: now}
	}
	if _, err := idb.NewInsert().Model(&rows).On("CONFLICT (job_id, probe_num) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("add probes of job %s: %w", jobID, mapErr(err))
	}
	return nil
}

// GetJobProbe finds a probe row by id.
func GetJobProbe(ctx context.Context, idb bun.IDB, id string) (*JobProbe, error) {
	p := new(JobProbe)
	err := idb.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	return p, mapErr(err)
}

// ListJobProbes returns the probes of jobs by job id, each job's ordered by
// probe number.
func ListJobProbes(ctx context.Context, idb bun.IDB, jobIDs ...string) (map[string][]JobProbe, error) {
	out := map[string][]JobProbe{}
	if len(jobIDs) == 0 {
		return out, nil
	}
	var ps []JobProbe
	err := idb.NewSelect().Model(&ps).Where("job_id IN (?)", bun.In(jobIDs)).OrderExpr("job_id, probe_num").Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	for _, p := range ps {
		out[p.JobID] = append(out[p.JobID], p)
	}
	return out, nil
}
