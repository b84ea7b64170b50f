package services

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// SetMembers replaces a project's members. Managers cannot grant admin nor
// change admins; the project keeps at least one admin.
func (s Projects) SetMembers(ctx context.Context, a *Access, members []schemas.MemberSetting) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		current, err := db.ListMembers(ctx, tx, a.Project.ID)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for i, ms := range members {
			u, err := s.memberUser(ctx, tx, a, ms)
			if err != nil {
				return err
			}
			keep[u.ID] = true
			num := i
			if err := db.UpsertMember(ctx, tx, &db.Member{ID: uuid.NewString(), ProjectID: a.Project.ID,
				UserID: u.ID, ProjectRole: string(ms.ProjectRole), MemberNum: &num}); err != nil {
				return err
			}
		}
		var drop []string
		for _, m := range current {
			if keep[m.UserID] {
				continue
			}
			if m.ProjectRole == string(schemas.ProjectRoleAdmin) && !a.GlobalAdmin && a.Role != schemas.ProjectRoleAdmin {
				return Forbidden()
			}
			drop = append(drop, m.UserID)
		}
		if err := db.DeleteMembers(ctx, tx, a.Project.ID, drop); err != nil {
			return err
		}
		return s.ensureAdmin(ctx, tx, a.Project.ID)
	})
}

// AddMembers adds or re-roles members. On a public project any user may add
// themselves as a plain user (joining).
func (s Projects) AddMembers(ctx context.Context, actor *db.User, a *Access, members []schemas.MemberSetting) error {
	manager := a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin || a.Role == schemas.ProjectRoleManager
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		next, err := db.NextMemberNum(ctx, tx, a.Project.ID)
		if err != nil {
			return err
		}
		for _, ms := range members {
			u, err := s.memberUser(ctx, tx, a, ms)
			if err != nil {
				return err
			}
			if !manager && (u.ID != actor.ID || ms.ProjectRole != schemas.ProjectRoleUser) {
				return Forbidden()
			}
			num := next
			next++
			if err := db.UpsertMember(ctx, tx, &db.Member{ID: uuid.NewString(), ProjectID: a.Project.ID,
				UserID: u.ID, ProjectRole: string(ms.ProjectRole), MemberNum: &num}); err != nil {
				return err
			}
		}
		return s.ensureAdmin(ctx, tx, a.Project.ID)
	})
}

// RemoveMembers removes users; members may remove themselves, managers may
// remove non-admins, admins anyone — while one admin remains.
func (s Projects) RemoveMembers(ctx context.Context, actor *db.User, a *Access, usernames []string) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var ids []string
		for _, name := range usernames {
			u, err := db.GetUserByNameOrEmail(ctx, tx, name)
			if errors.Is(err, db.ErrNotFound) {
				return NotFound("User %s not found", name)
			} else if err != nil {
				return err
			}
			m, err := db.GetMember(ctx, tx, a.Project.ID, u.ID)
			if errors.Is(err, db.ErrNotFound) {
				return NotFound("User %s is not a member of project %s", name, a.Project.Name)
			} else if err != nil {
				return err
			}
			self := u.ID == actor.ID
			switch {
			case a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin:
			case a.Role == schemas.ProjectRoleManager && m.ProjectRole != string(schemas.ProjectRoleAdmin):
			case self:
			default:
				return Forbidden()
			}
			ids = append(ids, u.ID)
		}
		if err := db.DeleteMembers(ctx, tx, a.Project.ID, ids); err != nil {
			return err
		}
		return s.ensureAdmin(ctx, tx, a.Project.ID)
	})
}

// memberUser validates a member setting and resolves its user.
func (s Projects) memberUser(ctx context.Context, idb bun.IDB, a *Access, ms schemas.MemberSetting) (*db.User, error) {
	if !ms.ProjectRole.Valid() {
		return nil, InvalidField("project_role", "Project role %q is invalid: use admin, manager or user", ms.ProjectRole)
	}
	if ms.ProjectRole == schemas.ProjectRoleAdmin && !a.GlobalAdmin && a.Role != schemas.ProjectRoleAdmin {
		return nil, Forbidden()
	}
	u, err := db.GetUserByNameOrEmail(ctx, idb, ms.Username)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("User %s not found", ms.Username)
	}
	return u, err
}

// ensureAdmin refuses a change that would leave a project without an admin.
func (s Projects) ensureAdmin(ctx context.Context, idb bun.IDB, projectID string) error {
	ms, err := db.ListMembers(ctx, idb, projectID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ProjectRole == string(schemas.ProjectRoleAdmin) {
			return nil
		}
	}
	return Invalid("A project must keep at least one admin")
}
