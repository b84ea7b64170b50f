package services

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// CloudFleets loads the project's active cloud fleets for sched, each with
// its active instance count and nodes maximum (offers not filled in).
func CloudFleets(ctx context.Context, env *Env, projectID string) ([]sched.CloudFleet, []schemas.FleetSpec, error) {
	fs, err := db.ListFleets(ctx, env.DB, db.FleetFilter{ProjectIDs: []string{projectID}, OnlyActive: true, Page: db.Page{Limit: -1}})
	if err != nil {
		return nil, nil, err
	}
	var out []sched.CloudFleet
	var specs []schemas.FleetSpec
	var ids []string
	for i := range fs {
		var spec schemas.FleetSpec
		if err := json.Unmarshal([]byte(fs[i].Spec), &spec); err != nil {
			return nil, nil, fmt.Errorf("read the stored spec of fleet %s: %w", fs[i].Name, err)
		}
		if spec.Configuration.SSHConfig != nil {
			continue
		}
		cf := sched.CloudFleet{FleetID: fs[i].ID, FleetName: fs[i].Name, Project: projectID}
		if pl := spec.Configuration.Placement; pl != nil && *pl == schemas.FleetPlacementCluster {
			cf.Cluster = true
		}
		if n := spec.Configuration.Nodes; n != nil {
			cf.Max = n.Max
		}
		out, specs, ids = append(out, cf), append(specs, spec), append(ids, fs[i].ID)
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	is, err := db.ListFleetInstances(ctx, env.DB, ids...)
	if err != nil {
		return nil, nil, err
	}
	for _, in := range is {
		if !schemas.InstanceStatus(in.Status).Active() {
			continue
		}
		for i := range out {
			if out[i].FleetID == *in.FleetID {
				out[i].Active++
			}
		}
	}
	return out, specs, nil
}

// capacityOffers are the backend offers a job could get as a new instance:
// in an offers-only plan (`dstack offer`) every backend offer that meets
// the job's requirements; otherwise those a cloud fleet that can grow
// would launch for it.
func (s Runs) capacityOffers(ctx context.Context, p *db.Project, js *schemas.JobSpec, profile schemas.Profile, offersOnly bool) ([]schemas.InstanceOffer, error) {
	job := sched.Constraint{Requirements: js.Requirements, Profile: profile}
	b := Backends{s.Env}
	if offersOnly {
		return b.Offers(ctx, p.ID, []sched.Constraint{job})
	}
	fleets, specs, err := CloudFleets(ctx, s.Env, p.ID)
	if err != nil || len(fleets) == 0 {
		return nil, err
	}
	seen := map[string]bool{}
	var out []schemas.InstanceOffer
	for i := range fleets {
		if !fleets[i].CanGrow() {
			continue
		}
		offers, err := b.Offers(ctx, p.ID, []sched.Constraint{sched.FleetConstraint(specs[i]), job})
		if err != nil {
			return nil, err
		}
		for _, o := range offers {
			k := o.Backend + "/" + o.Region + "/" + o.Instance.Name + "/" + map[bool]string{true: "spot"}[o.Instance.Resources.Spot]
			if !seen[k] {
				seen[k] = true
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// jobOffers are the offers of a job's plan: the fleets' instances it fits
// (cands), then new capacity (capacityOffers).
func (s Runs) jobOffers(ctx context.Context, p *db.Project, js *schemas.JobSpec, profile schemas.Profile, cands []sched.Candidate, offersOnly bool) ([]schemas.InstanceOffer, error) {
	var offers []schemas.InstanceOffer
	for _, o := range sched.OffersForJob(js.Requirements, profile, cands) {
		offers = append(offers, o.InstanceOffer)
	}
	extra, err := s.capacityOffers(ctx, p, js, profile, offersOnly)
	if err != nil {
		return nil, err
	}
	return append(offers, extra...), nil
}
