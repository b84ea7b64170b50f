package background

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Sweeper terminates cloud instances the database does not account for:
// VMs tagged with this server's projects whose instance row is gone or
// ended, launched another VM, or has none because a launch was cut short
// (a crash between the launch and its record). Nothing the server
// launches is left running unknown.
type Sweeper struct {
	Env *services.Env
	Log *slog.Logger
	// Every is the interval between sweeps (2 minutes when 0).
	Every time.Duration
}

// Run sweeps now and every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 2 * time.Minute
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, every)
		if n, err := s.Sweep(sctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("orphan sweep", "err", err)
		} else if n > 0 {
			s.Log.Warn("terminated cloud instances the server had no record of", "count", n)
		}
		cancel()
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Sweep runs one sweep over every project with backends and reports how
// many VMs it terminated.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	rows, err := db.ListBackends(ctx, s.Env.DB)
	if err != nil {
		return 0, err
	}
	projects := map[string]bool{}
	for _, r := range rows {
		projects[r.ProjectID] = true
	}
	total := 0
	b := services.Backends{Env: s.Env}
	for projectID := range projects {
		pcs, err := b.Computes(ctx, projectID)
		if err != nil {
			return total, err
		}
		for _, pc := range pcs {
			n, err := s.sweep(ctx, pc.Compute, projectID)
			total += n
			if err != nil {
				s.Log.Warn("orphan sweep of a backend", "project_id", projectID, "backend", pc.Type, "err", err)
			}
		}
	}
	return total, nil
}

func (s *Sweeper) sweep(ctx context.Context, c backends.Compute, projectID string) (int, error) {
	tagged, err := c.Tagged(ctx, []string{projectID})
	if err != nil || len(tagged) == 0 {
		return 0, err
	}
	ids := make([]string, 0, len(tagged))
	vms := make([]sched.TaggedVM, 0, len(tagged))
	where := map[string]backends.Tagged{}
	for _, t := range tagged {
		ids = append(ids, t.ServerInstanceID)
		vms = append(vms, sched.TaggedVM{VMID: t.InstanceID, Row: t.ServerInstanceID})
		where[t.InstanceID] = t
	}
	var ins []db.Instance
	if err := s.Env.DB.NewSelect().Model(&ins).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return 0, err
	}
	now, err := db.Clock(ctx, s.Env.DB) // leases are measured in the database's time
	if err != nil {
		return 0, err
	}
	known := map[string]sched.InstanceRow{}
	for _, in := range ins {
		r := sched.InstanceRow{Live: !in.Deleted && schemas.InstanceStatus(in.Status).Active(),
			Leased: in.LockExpiresAt != nil && in.LockExpiresAt.After(now)}
		if in.JobProvisioningData != nil {
			var jpd schemas.JobProvisioningData
			if err := json.Unmarshal([]byte(*in.JobProvisioningData), &jpd); err != nil {
				return 0, fmt.Errorf("decode provisioning data of instance %s: %w", in.ID, err)
			}
			r.VMID = jpd.InstanceID
		}
		known[in.ID] = r
	}
	n := 0
	for _, vm := range sched.Strays(vms, known) {
		t := where[vm]
		s.Log.Warn("terminating a cloud instance without a live record", "id", vm, "region", t.Region, "instance_row", t.ServerInstanceID)
		if err := c.Terminate(ctx, &schemas.JobProvisioningData{InstanceID: vm, Region: t.Region}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
