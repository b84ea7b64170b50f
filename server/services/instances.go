package services

import (
	"context"
	"errors"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Instances lists and reads instances.
type Instances struct{ *Env }

// visibleProjects maps the ids of the projects the actor may list (all for
// admins) to their names, narrowed to names when given.
func visibleProjects(ctx context.Context, env *Env, actor *db.User, names []string) (map[string]string, error) {
	f := db.ProjectFilter{Page: db.Page{Limit: -1}}
	if !isAdmin(actor) {
		f.VisibleTo = actor.ID
	}
	ps, _, err := db.ListProjects(ctx, env.DB, f, false)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	for _, p := range ps {
		if len(names) == 0 || want[p.Name] {
			out[p.ID] = p.Name
		}
	}
	return out, nil
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// List returns instances of the actor's projects, newest first.
func (s Instances) List(ctx context.Context, actor *db.User, req schemas.ListInstancesRequest) ([]schemas.Instance, error) {
	page, projects, err := listScope(ctx, s.Env, actor, nil, req.ProjectNames, req.PrevCreatedAt, req.PrevID, req.Limit, req.Ascending, 1000)
	if err != nil {
		return nil, err
	}
	is, err := db.ListInstances(ctx, s.DB, db.InstanceFilter{ProjectIDs: keys(projects), FleetIDs: req.FleetIDs, OnlyActive: req.OnlyActive, Page: page})
	if err != nil {
		return nil, err
	}
	return s.render(ctx, projects, is)
}

func (s Instances) render(ctx context.Context, projects map[string]string, is []db.Instance) ([]schemas.Instance, error) {
	cache := newNames()
	out := make([]schemas.Instance, 0, len(is))
	for i := range is {
		in := &is[i]
		name := ""
		if in.FleetID != nil {
			name = cache.fleet(ctx, s.DB, in.ProjectID, *in.FleetID)
		}
		out = append(out, InstanceSchema(projects[in.ProjectID], name, in))
	}
	return out, nil
}

// Get returns one instance of a project.
func (s Instances) Get(ctx context.Context, p *db.Project, id string) (*schemas.Instance, error) {
	in, err := db.GetInstance(ctx, s.DB, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && in.ProjectID != p.ID) {
		return nil, NotFound("Instance %s not found", id)
	} else if err != nil {
		return nil, err
	}
	out, err := s.render(ctx, map[string]string{p.ID: p.Name}, []db.Instance{*in})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// ListAll returns fleets of the actor's projects (the global fleets/list).
func (s Fleets) ListAll(ctx context.Context, actor *db.User, req schemas.ListFleetsRequest) ([]schemas.Fleet, error) {
	page, projects, err := listScope(ctx, s.Env, actor, req.ProjectName, nil, req.PrevCreatedAt, req.PrevID, req.Limit, req.Ascending, 100)
	if err != nil {
		return nil, err
	}
	fs, err := db.ListFleets(ctx, s.DB, db.FleetFilter{ProjectIDs: keys(projects), OnlyActive: req.OnlyActive, Page: page})
	if err != nil {
		return nil, err
	}
	return s.render(ctx, projects, fs)
}

// CanManageSSHFleets applies default_permissions.allow_non_admins_manage_ssh_fleets.
func (s Fleets) CanManageSSHFleets(a *Access) bool {
	return a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin || s.Perms.AllowNonAdminsManageSSHFleets
}
