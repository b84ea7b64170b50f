package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// finishedRunStatuses are the terminal states of a run.
var finishedRunStatuses = []string{"terminated", "failed", "done"}

// InsertRunWithJobs stores a new run and its first job submissions.
func InsertRunWithJobs(ctx context.Context, idb bun.IDB, r *Run, jobs []Job) error {
	_, err := writeWithEvents(ctx, idb, append(sources(r), jobSources(jobs)...), func(idb bun.IDB) (bool, error) {
		if _, err := idb.NewInsert().Model(r).Exec(ctx); err != nil {
			return false, mapErr(err)
		}
		if len(jobs) == 0 {
			return true, nil
		}
		_, err := idb.NewInsert().Model(&jobs).Exec(ctx)
		return err == nil, mapErr(err)
	})
	return err
}

// jobSources lists the jobs with pending events.
func jobSources(jobs []Job) []eventSource {
	var out []eventSource
	for i := range jobs {
		out = append(out, sources(&jobs[i])...)
	}
	return out
}

// InsertJobs stores new job submissions.
func InsertJobs(ctx context.Context, idb bun.IDB, jobs []Job) error {
	if len(jobs) == 0 {
		return nil
	}
	_, err := writeWithEvents(ctx, idb, jobSources(jobs), func(idb bun.IDB) (bool, error) {
		_, err := idb.NewInsert().Model(&jobs).Exec(ctx)
		return err == nil, mapErr(err)
	})
	return err
}

// GetRun finds a run by id.
func GetRun(ctx context.Context, idb bun.IDB, id string) (*Run, error) {
	r := new(Run)
	err := idb.NewSelect().Model(r).Where("id = ?", id).Scan(ctx)
	return r, mapErr(err)
}

// GetRunByName finds a project's newest live run with this name.
func GetRunByName(ctx context.Context, idb bun.IDB, projectID, name string) (*Run, error) {
	r := new(Run)
	err := idb.NewSelect().Model(r).Where("project_id = ?", projectID).Where("run_name = ?", name).
		Where("deleted = ?", false).OrderExpr("submitted_at DESC").Limit(1).Scan(ctx)
	return r, mapErr(err)
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	ProjectIDs []string
	RepoID     *string
	UserID     *string
	OnlyActive bool
	Page       Page
}

// ListRuns returns live runs, newest first.
func ListRuns(ctx context.Context, idb bun.IDB, f RunFilter) ([]Run, error) {
	var rs []Run
	q := idb.NewSelect().Model(&rs).Where("deleted = ?", false)
	if f.ProjectIDs != nil {
		if len(f.ProjectIDs) == 0 {
			return nil, nil
		}
		q = q.Where("project_id IN (?)", bun.In(f.ProjectIDs))
	}
	if f.RepoID != nil {
		q = q.Where("repo_id = ?", *f.RepoID)
	}
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	if f.OnlyActive {
		q = q.Where("status NOT IN (?)", bun.In(finishedRunStatuses))
	}
	err := f.Page.apply(q, "submitted_at", "id").Scan(ctx)
	return rs, mapErr(err)
}

// ListRunJobs returns the job submissions of runs, by run, replica, job and
// submission.
func ListRunJobs(ctx context.Context, idb bun.IDB, runIDs ...string) ([]Job, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	var js []Job
	err := idb.NewSelect().Model(&js).Where("run_id IN (?)", bun.In(runIDs)).
		OrderExpr("run_id, replica_num, job_num, submission_num").Scan(ctx)
	return js, mapErr(err)
}

// GetJob finds a job submission by id.
func GetJob(ctx context.Context, idb bun.IDB, id string) (*Job, error) {
	j := new(Job)
	err := idb.NewSelect().Model(j).Where("id = ?", id).Scan(ctx)
	return j, mapErr(err)
}

// MarkLogsWanted records that a client asked at now for the logs of a job
// that is running and whose runner has not been pulled yet; it reports
// whether this was the first such ask. It writes that column alone, so it
// needs no lease.
func MarkLogsWanted(ctx context.Context, idb bun.IDB, jobID, running string, now time.Time) (bool, error) {
	res, err := idb.NewUpdate().Model((*Job)(nil)).Set("logs_wanted_at = ?", now).
		Where("id = ?", jobID).Where("status = ?", running).
		Where("runner_timestamp IS NULL").Where("logs_wanted_at IS NULL").Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdateRun writes the named columns of r.
func UpdateRun(ctx context.Context, idb bun.IDB, r *Run, columns ...string) error {
	return updateRow(ctx, idb, r, columns...)
}

// UpdateJob writes the named columns of j.
func UpdateJob(ctx context.Context, idb bun.IDB, j *Job, columns ...string) error {
	return updateRow(ctx, idb, j, columns...)
}

// UpdateJobIfFree writes the named columns of j unless a pipeline holds the
// row's lease at now (it would overwrite them when it releases the row) or
// the row's status is no longer status (the decision was made on a status
// that has moved on since); it reports whether it wrote. The checks and the
// write are one statement.
func UpdateJobIfFree(ctx context.Context, idb bun.IDB, j *Job, status string, now time.Time, columns ...string) (bool, error) {
	return writeWithEvents(ctx, idb, sources(j), func(idb bun.IDB) (bool, error) {
		return updateJobIfFree(ctx, idb, j, status, now, columns...)
	})
}

func updateJobIfFree(ctx context.Context, idb bun.IDB, j *Job, status string, now time.Time, columns ...string) (bool, error) {
	res, err := idb.NewUpdate().Model(j).Column(columns...).WherePK().Where("status = ?", status).
		Where("(lock_expires_at IS NULL OR lock_expires_at < ?)", now).Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdateRunIfFree writes the named columns of r unless a pipeline holds the
// row's lease at now or the row's status is no longer status; it reports
// whether it wrote.
func UpdateRunIfFree(ctx context.Context, idb bun.IDB, r *Run, status string, now time.Time, columns ...string) (bool, error) {
	return writeWithEvents(ctx, idb, sources(r), func(idb bun.IDB) (bool, error) {
		return updateRunIfFree(ctx, idb, r, status, now, columns...)
	})
}

func updateRunIfFree(ctx context.Context, idb bun.IDB, r *Run, status string, now time.Time, columns ...string) (bool, error) {
	res, err := idb.NewUpdate().Model(r).Column(columns...).WherePK().Where("status = ?", status).
		Where("(lock_expires_at IS NULL OR lock_expires_at < ?)", now).Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RetireFinishedRun marks a finished run deleted, to replace it by a new
// run of the same name; db.ErrConflict when it is no longer a finished
// live run (it was retired or restarted meanwhile).
func RetireFinishedRun(ctx context.Context, idb bun.IDB, id string) error {
	res, err := idb.NewUpdate().Model((*Run)(nil)).Set("deleted = ?", true).Where("id = ?", id).
		Where("deleted = ?", false).Where("status IN (?)", bun.In(finishedRunStatuses)).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return ErrConflict
}

// LiveRunNamesWithPrefix lists the names of a project's live runs that
// start with prefix (a literal, not a pattern).
func LiveRunNamesWithPrefix(ctx context.Context, idb bun.IDB, projectID, prefix string) ([]string, error) {
	var names []string
	err := idb.NewSelect().Model((*Run)(nil)).Column("run_name").Where("project_id = ?", projectID).
		Where("deleted = ?", false).Where("substr(run_name, 1, ?) = ?", len(prefix), prefix).Scan(ctx, &names)
	return names, mapErr(err)
}
