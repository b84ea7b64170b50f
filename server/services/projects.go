package services

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

var projectNameRe = schemas.MustNameRule(`^[a-zA-Z0-9-_]{1,50}$`)

// Projects manages projects and their members.
type Projects struct{ *Env }

// Access is what the acting user may do in one project.
type Access struct {
	Project *db.Project
	// Role is the actor's project role, empty when not a member.
	Role schemas.ProjectRole
	// GlobalAdmin is true for global admins, who pass every project guard.
	GlobalAdmin bool
	// User is who asks, the actor of the events the request records.
	User *db.User
}

// Resolve loads a project by name with the actor's role in it. A missing
// project is upstream's 404 "Not found".
func (s Projects) Resolve(ctx context.Context, actor *db.User, name string) (*Access, error) {
	p, err := db.GetProjectByName(ctx, s.DB, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, &Error{Kind: KindProjectNotFound, Msg: "Not found"}
	} else if err != nil {
		return nil, fmt.Errorf("load project %s: %w", name, err)
	}
	a := &Access{Project: p, GlobalAdmin: isAdmin(actor), User: actor}
	m, err := db.GetMember(ctx, s.DB, p.ID, actor.ID)
	if err == nil {
		a.Role = schemas.ProjectRole(m.ProjectRole)
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("load membership: %w", err)
	}
	return a, nil
}

// Schema renders a project; with members when withMembers.
func (s Projects) Schema(ctx context.Context, p *db.Project, withMembers bool) (schemas.Project, error) {
	out := schemas.Project{
		ProjectID: p.ID, ProjectName: p.Name, CreatedAt: ptrTime(p.CreatedAt),
		Backends: []schemas.BackendInfo{}, Members: []schemas.Member{},
		IsPublic: p.IsPublic, TemplatesRepo: p.TemplatesRepo,
	}
	if p.Owner != nil {
		out.Owner = Users{s.Env}.Schema(p.Owner)
	}
	if !withMembers {
		return out, nil
	}
	bs, err := (Backends{s.Env}).List(ctx, p)
	if err != nil {
		return out, fmt.Errorf("list backends of %s: %w", p.Name, err)
	}
	out.Backends = bs
	ms, err := db.ListMembers(ctx, s.DB, p.ID)
	if err != nil {
		return out, fmt.Errorf("list members of %s: %w", p.Name, err)
	}
	for i := range ms {
		out.Members = append(out.Members, s.memberSchema(&ms[i]))
	}
	return out, nil
}

func (s Projects) memberSchema(m *db.Member) schemas.Member {
	role := schemas.ProjectRole(m.ProjectRole)
	admin := m.User.GlobalRole == string(schemas.GlobalRoleAdmin)
	return schemas.Member{
		User: Users{s.Env}.Schema(m.User), ProjectRole: role,
		Permissions: schemas.MemberPermissions{
			CanManageSSHFleets: admin || role == schemas.ProjectRoleAdmin || s.Perms.AllowNonAdminsManageSSHFleets,
			CanManageSecrets:   admin || role == schemas.ProjectRoleAdmin || (role == schemas.ProjectRoleManager && s.Perms.AllowManagersManageSecrets),
		},
	}
}

// List returns the projects the actor belongs to (admins: all; with
// include_not_joined, public ones too), as a list or with a total count.
func (s Projects) List(ctx context.Context, actor *db.User, req schemas.ListProjectsRequest) (any, error) {
	page, err := pageOf(req.PrevCreatedAt, req.PrevID, req.Limit, req.Ascending, 2000)
	if err != nil {
		return nil, err
	}
	f := db.ProjectFilter{Page: page, IncludePublic: req.IncludeNotJoined == nil || *req.IncludeNotJoined}
	if !isAdmin(actor) {
		f.VisibleTo = actor.ID
	}
	if req.NamePattern != nil {
		if !namePatternRe.MatchString(*req.NamePattern) {
			return nil, InvalidField("name_pattern", "name_pattern may contain only letters, digits, '-' and '_'")
		}
		f.NamePattern = *req.NamePattern
	}
	ps, total, err := db.ListProjects(ctx, s.DB, f, req.ReturnTotalCount)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Project, 0, len(ps))
	for i := range ps {
		p, _ := s.Schema(ctx, &ps[i], false)
		out = append(out, p)
	}
	if req.ReturnTotalCount {
		return schemas.ProjectsInfoList{TotalCount: total, Projects: out}, nil
	}
	return out, nil
}

// Create makes a project owned by actor, who becomes its admin.
func (s Projects) Create(ctx context.Context, actor *db.User, req schemas.CreateProjectRequest) (*db.Project, error) {
	if !projectNameRe.MatchString(req.ProjectName) {
		return nil, InvalidField("project_name", "Project name %q is invalid: use 1-50 letters, digits, '-' or '_'", req.ProjectName)
	}
	if !isAdmin(actor) {
		if !s.Perms.AllowNonAdminsCreateProjects {
			return nil, Forbidden()
		}
		n, err := db.CountOwnedProjects(ctx, s.DB, actor.ID)
		if err != nil {
			return nil, err
		}
		if s.ProjectQuota > 0 && n >= s.ProjectQuota {
			return nil, Invalid("You have reached the limit of %d projects; delete one or ask an admin", s.ProjectQuota)
		}
	}
	priv, pub, err := projectKeyPair(req.ProjectName)
	if err != nil {
		return nil, err
	}
	p := &db.Project{
		ID: uuid.NewString(), Name: req.ProjectName, CreatedAt: s.now(), OwnerID: actor.ID,
		IsPublic: req.IsPublic, TemplatesRepo: req.TemplatesRepo, SSHPublicKey: pub, Owner: actor,
	}
	if p.SSHPrivateKey, err = db.Seal(s.Sealer, db.ProjectsSSHKey, p.ID, priv); err != nil {
		return nil, err
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.InsertProject(ctx, tx, p); err != nil {
			return err
		}
		zero := 0
		if err := db.UpsertMember(ctx, tx, &db.Member{ID: uuid.NewString(), ProjectID: p.ID, UserID: actor.ID,
			ProjectRole: string(schemas.ProjectRoleAdmin), MemberNum: &zero}); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(actor), "Project created", projectTarget(p))
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("Project %s already exists", req.ProjectName)
	} else if err != nil {
		return nil, fmt.Errorf("create project %s: %w", req.ProjectName, err)
	}
	return p, nil
}

// Delete soft-deletes projects; non-admins must be admins of each project.
// As upstream, a project with unfinished runs or live fleets is refused:
// its pipelines would go on working them with every route answering 404,
// and its hosts could never join another fleet. The check and the delete
// hold the project's lock, which every apply into it takes too.
func (s Projects) Delete(ctx context.Context, actor *db.User, names []string) error {
	var ps []*db.Project
	for _, n := range names {
		a, err := s.Resolve(ctx, actor, n)
		var se *Error
		if errors.As(err, &se) && se.Kind == KindProjectNotFound {
			return NotFound("Project %s not found", n)
		} else if err != nil {
			return err
		}
		if !a.GlobalAdmin && a.Role != schemas.ProjectRoleAdmin {
			return Forbidden()
		}
		ps = append(ps, a.Project)
	}
	now := s.now()
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, p := range ps {
			if err := db.LockProject(ctx, tx, p.ID, true); errors.Is(err, db.ErrNotFound) {
				return NotFound("Project %s not found", p.Name)
			} else if err != nil {
				return err
			}
			runs, fleets, err := db.ProjectActiveWork(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if len(runs) > 0 {
				return Invalid("Failed to delete project %s: it has active runs (%s); stop them first (dstack stop)",
					p.Name, strings.Join(runs, ", "))
			}
			if len(fleets) > 0 {
				return Invalid("Failed to delete project %s: it has fleets (%s); delete them first (dstack fleet delete)",
					p.Name, strings.Join(fleets, ", "))
			}
			target := projectTarget(p) // named before the delete renames it
			if err := db.SoftDeleteProject(ctx, tx, p.ID, now, randomHex(4)); err != nil {
				return fmt.Errorf("delete project: %w", err)
			}
			if err := s.recordEvent(ctx, tx, UserActor(actor), "Project deleted", target); err != nil {
				return err
			}
		}
		return nil
	})
}

// Update changes visibility or the templates repo.
func (s Projects) Update(ctx context.Context, actor Actor, p *db.Project, req schemas.UpdateProjectRequest) error {
	var changed []string
	if req.IsPublic != nil && p.IsPublic != *req.IsPublic {
		p.IsPublic = *req.IsPublic
		changed = append(changed, "is_public")
	}
	repo := p.TemplatesRepo
	if req.ResetTemplatesRepo {
		p.TemplatesRepo = nil
	} else if req.TemplatesRepo != nil {
		p.TemplatesRepo = req.TemplatesRepo
	}
	if ptrValue(repo) != ptrValue(p.TemplatesRepo) {
		changed = append(changed, "templates_repo")
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.UpdateProject(ctx, tx, p, "is_public", "templates_repo"); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, actor, "Project updated. Updated fields: "+fieldList(changed), projectTarget(p))
	})
}
