package services

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Stop asks runs to stop: the run turns terminating at once with the
// user's reason, and the background stops its jobs (gracefully unless
// abort).
func (s Runs) Stop(ctx context.Context, actor Actor, p *db.Project, names []string, abort bool) error {
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
	for _, r := range rs {
		if err := s.stopOne(ctx, actor, r, reason, abort); err != nil {
			return err
		}
	}
	s.WakeUp(PipelineRuns)
	return nil
}

// stopOne moves a run to terminating with the user's reason. A run the
// background holds right now (for milliseconds) is retried: writing under
// its lease would be undone when the pipeline writes the run back.
func (s Runs) stopOne(ctx context.Context, actor Actor, r *db.Run, reason schemas.RunTerminationReason, abort bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := schemas.RunStatus(r.Status)
		if st.Finished() || (st == schemas.RunTerminating && !abort) {
			return nil
		}
		c := *r
		if err := SetRunStatusBy(&c, actor, schemas.RunTerminating); err != nil {
			return err
		}
		c.TerminationReason = ptr(string(reason))
		now, err := db.Clock(ctx, s.DB)
		if err != nil {
			return err
		}
		ok, err := db.UpdateRunIfFree(ctx, s.DB, &c, r.Status, now, "status", "termination_reason")
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return Invalid("Run %s is being processed; try again", r.RunName)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if r, err = db.GetRun(ctx, s.DB, r.ID); err != nil {
			return err
		}
	}
}

// Delete removes finished runs; active ones must be stopped first.
func (s Runs) Delete(ctx context.Context, actor Actor, p *db.Project, names []string) error {
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
			RecordOn(&r.Events, actor, "Run deleted")
			if err := db.UpdateRun(ctx, tx, r, "deleted"); err != nil {
				return err
			}
		}
		return nil
	})
}
