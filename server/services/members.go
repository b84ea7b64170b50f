package services

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// SetMembers replaces a project's members. Managers cannot grant admin nor
// change admins; the project keeps at least one admin.
func (s Projects) SetMembers(ctx context.Context, a *Access, members []schemas.MemberSetting) error {
	if err := checkDuplicates(members); err != nil {
		return err
	}
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
		if err := s.ensureAdmin(ctx, tx, a.Project.ID); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(a.User), "Project members set: "+memberList(members), projectTarget(a.Project))
	})
}

// AddMembers adds or re-roles members. On a public project any user may add
// themselves as a plain user (joining).
func (s Projects) AddMembers(ctx context.Context, actor *db.User, a *Access, members []schemas.MemberSetting) error {
	manager := a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin || a.Role == schemas.ProjectRoleManager
	if err := checkDuplicates(members); err != nil {
		return err
	}
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
		if err := s.ensureAdmin(ctx, tx, a.Project.ID); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(actor), "Project members added: "+memberList(members), projectTarget(a.Project))
	})
}

// RemoveMembers removes users: anyone may leave, project managers and
// admins remove non-admins, global admins remove anyone — while one admin
// remains.
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
			targetAdmin := m.ProjectRole == string(schemas.ProjectRoleAdmin)
			switch {
			case a.GlobalAdmin || self:
			case targetAdmin: // only global admins remove another admin
				return Forbidden()
			case a.Role == schemas.ProjectRoleAdmin || a.Role == schemas.ProjectRoleManager:
			default:
				return Forbidden()
			}
			ids = append(ids, u.ID)
		}
		if err := db.DeleteMembers(ctx, tx, a.Project.ID, ids); err != nil {
			return err
		}
		if err := s.ensureAdmin(ctx, tx, a.Project.ID); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(actor), "Project members removed: "+fieldList(usernames), projectTarget(a.Project))
	})
}

// memberUser validates a member setting and resolves its user. Only
// admins change who is an admin: a manager may keep an existing admin as
// is, but neither grant the role nor take it away (a demoted admin could
// then be removed).
func (s Projects) memberUser(ctx context.Context, idb bun.IDB, a *Access, ms schemas.MemberSetting) (*db.User, error) {
	if !ms.ProjectRole.Valid() {
		return nil, InvalidField("project_role", "Project role %q is invalid: use admin, manager or user", ms.ProjectRole)
	}
	u, err := db.GetUserByNameOrEmail(ctx, idb, ms.Username)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("User %s not found", ms.Username)
	} else if err != nil {
		return nil, err
	}
	if a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin {
		return u, nil
	}
	m, err := db.GetMember(ctx, idb, a.Project.ID, u.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	wasAdmin := err == nil && m.ProjectRole == string(schemas.ProjectRoleAdmin)
	if wasAdmin != (ms.ProjectRole == schemas.ProjectRoleAdmin) {
		return nil, Forbidden()
	}
	return u, nil
}

// checkDuplicates refuses a member list naming one user twice.
func checkDuplicates(ms []schemas.MemberSetting) error {
	seen := map[string]bool{}
	for _, m := range ms {
		k := strings.ToLower(m.Username)
		if seen[k] {
			return InvalidField("members", "Cannot add same user multiple times: %s", m.Username)
		}
		seen[k] = true
	}
	return nil
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

// memberList words member settings for an event ("alice (admin), bob (user)").
func memberList(ms []schemas.MemberSetting) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Username + " (" + string(m.ProjectRole) + ")"
	}
	return fieldList(parts)
}
