package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// Metrics reads the resource usage samples the server collects from
// running jobs (metrics/job/{run_name}).
type Metrics struct{ *Env }

// JobMetricsQuery picks a job and a window of its samples: the latest
// submission of job JobNum of replica ReplicaNum of the run (by RunID
// when set, else the live run named RunName); the newest Limit values at
// or after After and before Before.
type JobMetricsQuery struct {
	RunName            string
	RunID              string
	ReplicaNum, JobNum int
	Limit              int
	After, Before      *time.Time
}

// Job returns a job's metric series, newest first. A job without two
// samples yet (it has not run for ten seconds, or never ran) has no
// series: the answer is an empty list, as upstream's.
func (s Metrics) Job(ctx context.Context, p *db.Project, q JobMetricsQuery) (*schemas.JobMetrics, error) {
	j, err := db.GetRunJob(ctx, s.DB, p.ID, q.RunName, q.RunID, q.ReplicaNum, q.JobNum)
	if errors.Is(err, db.ErrNotFound) {
		if _, rerr := db.GetRunByName(ctx, s.DB, p.ID, q.RunName); errors.Is(rerr, db.ErrNotFound) && q.RunID == "" {
			return nil, NotFound("Found no job with given parameters: run %s does not exist in project %s", q.RunName, p.Name)
		}
		return nil, NotFound("Found no job with given parameters: run %s has no job %d in replica %d", q.RunName, q.JobNum, q.ReplicaNum)
	} else if err != nil {
		return nil, err
	}
	w := db.MetricsWindow{Limit: q.Limit + 1} // one more sample: CPU use is a difference
	if q.After != nil {
		w.After = q.After.UnixMicro()
	}
	if q.Before != nil {
		w.Before = q.Before.UnixMicro()
	}
	rows, err := db.ListJobMetricsPoints(ctx, s.DB, j.ID, w)
	if err != nil {
		return nil, fmt.Errorf("read metrics of %s: %w", j.JobName, err)
	}
	points := make([]sched.MetricsPoint, len(rows))
	for i, r := range rows {
		points[i] = sched.MetricsPoint{TimestampMicro: r.TimestampMicro, CPUUsageMicro: r.CPUUsageMicro,
			MemoryUsage: r.MemoryUsageBytes, MemoryWorkingSet: r.MemoryWorkingSetBytes}
		if err := json.Unmarshal([]byte(r.GpusMemoryUsageBytes), &points[i].GpusMemoryUsage); err != nil {
			return nil, fmt.Errorf("read GPU memory of a metrics sample of %s: %w", j.JobName, err)
		}
		if err := json.Unmarshal([]byte(r.GpusUtilPercent), &points[i].GpusUtil); err != nil {
			return nil, fmt.Errorf("read GPU utilization of a metrics sample of %s: %w", j.JobName, err)
		}
	}
	m := sched.JobMetricsSeries(points, jobResources(j))
	return &m, nil
}

// jobResources are the resources of a job's offer, or of its instance;
// nil when it has neither (or they cannot be read).
func jobResources(j *db.Job) *schemas.Resources {
	if j.JobRuntimeData != nil {
		var jrd schemas.JobRuntimeData
		if json.Unmarshal([]byte(*j.JobRuntimeData), &jrd) == nil && jrd.Offer != nil {
			return &jrd.Offer.Instance.Resources
		}
	}
	if j.JobProvisioningData != nil {
		var jpd schemas.JobProvisioningData
		if json.Unmarshal([]byte(*j.JobProvisioningData), &jpd) == nil {
			return &jpd.InstanceType.Resources
		}
	}
	return nil
}
