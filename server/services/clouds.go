package services

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sync"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// Clouds holds the backend types this server can configure and the
// projects' opened backends, reopened when their stored configuration
// changes. It is safe for concurrent use; a nil Clouds has no types.
type Clouds struct {
	registry *backends.Registry
	mu       sync.Mutex
	open     map[string]*openCompute // backend row id →
}

type openCompute struct {
	key     string // hash of the stored config and credentials
	compute backends.Compute
	version string
	index   *sched.OfferIndex
}

// NewClouds makes the cloud side of the services from the registered types.
func NewClouds(r *backends.Registry) *Clouds {
	return &Clouds{registry: r, open: map[string]*openCompute{}}
}

// Registry is the registered backend types (nil when none).
func (c *Clouds) Registry() *backends.Registry {
	if c == nil {
		return nil
	}
	return c.registry
}

// ProjectCompute is one opened backend of a project.
type ProjectCompute struct {
	Type    string
	Compute backends.Compute
	c       *openCompute
}

// Computes opens the project's backends (cached while their configuration
// is unchanged). A backend that cannot be opened (credentials that no
// longer decrypt) is logged and left out.
func (s Backends) Computes(ctx context.Context, projectID string) ([]ProjectCompute, error) {
	if s.Clouds == nil {
		return nil, nil
	}
	rows, err := db.ListBackends(ctx, s.DB, projectID)
	if err != nil {
		return nil, err
	}
	var out []ProjectCompute
	for i := range rows {
		pc, err := s.openRow(&rows[i])
		if err != nil {
			s.Log.Warn("backend ignored: it cannot be opened", "project_id", projectID, "backend", rows[i].Type, "err", err)
			continue
		}
		out = append(out, *pc)
	}
	return out, nil
}

// Compute opens one backend type of a project.
func (s Backends) Compute(ctx context.Context, projectID, typ string) (backends.Compute, error) {
	row, err := db.GetBackend(ctx, s.DB, projectID, typ)
	if errors.Is(err, db.ErrNotFound) {
		return nil, &Error{Kind: KindBackendNotAvailable, Msg: "Backend " + typ + " is not configured in this project"}
	}
	if err != nil {
		return nil, err
	}
	pc, err := s.openRow(row)
	if err != nil {
		return nil, err
	}
	return pc.Compute, nil
}

func (s Backends) openRow(row *db.Backend) (*ProjectCompute, error) {
	conf, ok := s.Clouds.registry.Get(row.Type)
	if !ok {
		return nil, errors.New("backend type " + row.Type + " is not available in this server")
	}
	sum := sha256.Sum256([]byte(row.Config + "\x00" + row.Auth))
	key := hex.EncodeToString(sum[:])
	s.Clouds.mu.Lock()
	oc := s.Clouds.open[row.ID]
	s.Clouds.mu.Unlock()
	if oc == nil || oc.key != key {
		rec, err := s.record(row)
		if err != nil {
			return nil, err
		}
		c, err := conf.Open(rec)
		if err != nil {
			return nil, err
		}
		oc = &openCompute{key: key, compute: c}
		s.Clouds.mu.Lock()
		s.Clouds.open[row.ID] = oc
		s.Clouds.mu.Unlock()
	}
	return &ProjectCompute{Type: row.Type, Compute: oc.compute, c: oc}, nil
}

// index is the backend's offers, indexed once per offers version.
func (s Backends) index(ctx context.Context, pc *ProjectCompute) (*sched.OfferIndex, sched.DiskRange, error) {
	offers, err := pc.Compute.Offers(ctx)
	if offers == nil {
		return nil, sched.DiskRange{}, err
	}
	if err != nil {
		s.Log.Warn("some offers are missing", "backend", pc.Type, "err", err)
	}
	disk := sched.DiskRange{Min: schemas.Memory(offers.DiskMinGB), Max: schemas.Memory(offers.DiskMaxGB)}
	s.Clouds.mu.Lock()
	defer s.Clouds.mu.Unlock()
	if pc.c.index == nil || pc.c.version != offers.Version {
		pc.c.index, pc.c.version = sched.NewOfferIndex(offers.Offers), offers.Version
	}
	return pc.c.index, disk, nil
}

// Offers are the project's backend offers that meet every constraint,
// cheapest first. A backend whose offers cannot be read is logged and left
// out.
func (s Backends) Offers(ctx context.Context, projectID string, cs []sched.Constraint) ([]schemas.InstanceOffer, error) {
	pcs, err := s.Computes(ctx, projectID)
	if err != nil {
		return nil, err
	}
	reservation, ok := sched.ReservationOf(cs)
	if !ok {
		return nil, nil
	}
	var out []schemas.InstanceOffer
	for i := range pcs {
		idx, disk, err := s.index(ctx, &pcs[i])
		if idx == nil {
			s.Log.Warn("no offers from backend", "backend", pcs[i].Type, "err", err)
			continue
		}
		offers := sched.BackendOffers(idx, cs, map[string]sched.DiskRange{pcs[i].Type: disk})
		if reservation != "" {
			if offers, err = s.reserved(ctx, &pcs[i], reservation, offers); err != nil {
				s.Log.Warn("no offers from backend", "backend", pcs[i].Type, "err", err)
				continue
			}
		}
		out = append(out, offers...)
	}
	if len(pcs) > 1 {
		slices.SortStableFunc(out, func(a, b schemas.InstanceOffer) int {
			switch {
			case a.Price < b.Price:
				return -1
			case a.Price > b.Price:
				return 1
			}
			return 0
		})
	}
	return out, nil
}

// reserved narrows a backend's offers to those the capacity reservation can
// take; a backend without reservations offers nothing.
func (s Backends) reserved(ctx context.Context, pc *ProjectCompute, id string, offers []schemas.InstanceOffer) ([]schemas.InstanceOffer, error) {
	r, ok := pc.Compute.(backends.Reserver)
	if !ok {
		return nil, nil
	}
	found, err := r.Reservations(ctx, id)
	if err != nil {
		return nil, err
	}
	rs := make([]sched.Reserved, len(found))
	for i, f := range found {
		rs[i] = sched.Reserved{Backend: pc.Type, Region: f.Region, InstanceType: f.InstanceType, Zone: f.Zone}
	}
	return sched.ReservedOffers(offers, rs), nil
}

// TypesInUse are the backend types configured in any project.
func (s Backends) TypesInUse(ctx context.Context) ([]string, error) {
	var types []string
	err := s.DB.NewSelect().Model((*db.Backend)(nil)).Distinct().Column("type").Scan(ctx, &types)
	return types, err
}
