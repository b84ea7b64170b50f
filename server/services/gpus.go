package services

import (
	"context"
	"strings"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// ListGpus answers gpus/list (`dstack offer --group-by gpu`): the GPUs of
// the offers a plan of the run spec would list (`dstack offer`'s offers:
// the project's instances it fits and every backend offer that meets it),
// grouped by model and as req.GroupBy asks.
func (s Runs) ListGpus(ctx context.Context, actor *db.User, p *db.Project, req schemas.ListGpusRequest) (*schemas.ListGpusResponse, error) {
	grouping, err := sched.ParseGpuGroupBy(req.GroupBy)
	if err != nil {
		msg := err.Error() // upstream's message starts with a capital
		return nil, InvalidField("group_by", "%s", strings.ToUpper(msg[:1])+msg[1:])
	}
	spec := req.RunSpec
	profile, jobs, cands, err := s.planJobs(ctx, actor, p, &spec, "gpus")
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return &schemas.ListGpusResponse{Gpus: []schemas.GpuGroup{}}, nil
	}
	offers, err := s.jobOffers(ctx, p, &jobs[0], profile, cands, true)
	if err != nil {
		return nil, err
	}
	return &schemas.ListGpusResponse{Gpus: sched.GroupGpus(offers, grouping)}, nil
}
