package services

import (
	"context"
	"errors"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Stop asks runs to stop: the run turns terminating at once with the
// user's reason, and the background stops its jobs (gracefully unless
// abort).
func (s Runs) Stop(ctx context.Context, p *db.Project, names []string, abort bool) error {
	reason := schemas.RunStoppedByUser
	if abort {
		reason = schemas.RunAbortedByUser
	}
	var rs []*db.Run
	for _, n := range names {
		r, err := db.GetRunByName(ctx, s.DB, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			return NotFound("Run %s not found", n)
		} else if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range rs {
			st := schemas.RunStatus(r.Status)
			if st.Finished() || (st == schemas.RunTerminating && !abort) {
				continue
			}
			r.Status, r.TerminationReason = string(schemas.RunTerminating), ptr(string(reason))
			if err := db.UpdateRun(ctx, tx, r, "status", "termination_reason"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.wake(PipelineRuns)
	return nil
}

// Delete removes finished runs; active ones must be stopped first.
func (s Runs) Delete(ctx context.Context, p *db.Project, names []string) error {
	var rs []*db.Run
	for _, n := range names {
		r, err := db.GetRunByName(ctx, s.DB, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			return NotFound("Run %s not found", n)
		} else if err != nil {
			return err
		}
		if !schemas.RunStatus(r.Status).Finished() {
			return Invalid("Run %s is %s; stop it before deleting it", n, r.Status)
		}
		rs = append(rs, r)
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range rs {
			r.Deleted = true
			if err := db.UpdateRun(ctx, tx, r, "deleted"); err != nil {
				return err
			}
		}
		return nil
	})
}
