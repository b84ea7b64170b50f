package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// InsertProject stores a new project.
func InsertProject(ctx context.Context, idb bun.IDB, p *Project) error {
	return insertRow(ctx, idb, p)
}

// UpdateProject writes the named columns of p.
func UpdateProject(ctx context.Context, idb bun.IDB, p *Project, columns ...string) error {
	return updateRow(ctx, idb, p, columns...)
}

// GetProjectByName finds a live project by name, ignoring case, with its owner.
func GetProjectByName(ctx context.Context, idb bun.IDB, name string) (*Project, error) {
	p := new(Project)
	err := idb.NewSelect().Model(p).Relation("Owner").
		Where("lower(p.name) = lower(?)", name).Where("p.deleted = ?", false).Scan(ctx)
	return p, mapErr(err)
}

// GetProjectByID finds a project by id with its owner.
func GetProjectByID(ctx context.Context, idb bun.IDB, id string) (*Project, error) {
	p := new(Project)
	err := idb.NewSelect().Model(p).Relation("Owner").Where("p.id = ?", id).Scan(ctx)
	return p, mapErr(err)
}

// ProjectFilter narrows ListProjects.
type ProjectFilter struct {
	// VisibleTo limits the list to projects the user is a member of, plus
	// public ones when IncludePublic; empty means every project.
	VisibleTo     string
	IncludePublic bool
	NamePattern   string
	Page          Page
}

// ListProjects returns live projects with their owners and, when wanted, the
// count ignoring the page.
func ListProjects(ctx context.Context, idb bun.IDB, f ProjectFilter, wantTotal bool) ([]Project, int, error) {
	var ps []Project
	q := idb.NewSelect().Model(&ps).Relation("Owner").Where("p.deleted = ?", false)
	if f.VisibleTo != "" {
		member := idb.NewSelect().Model((*Member)(nil)).Column("project_id").Where("user_id = ?", f.VisibleTo)
		if f.IncludePublic {
			q = q.Where("(p.id IN (?) OR p.is_public = ?)", member, true)
		} else {
			q = q.Where("p.id IN (?)", member)
		}
	}
	if f.NamePattern != "" {
		q = q.Where("lower(p.name) LIKE ?", "%"+lowerASCII(f.NamePattern)+"%")
	}
	total := 0
	if wantTotal {
		n, err := q.Count(ctx)
		if err != nil {
			return nil, 0, mapErr(err)
		}
		total = int(n)
	}
	if err := f.Page.apply(q, "p.created_at", "p.id").Scan(ctx); err != nil {
		return nil, 0, mapErr(err)
	}
	return ps, total, nil
}

// CountOwnedProjects counts the live projects a user owns (for the quota).
func CountOwnedProjects(ctx context.Context, idb bun.IDB, userID string) (int, error) {
	n, err := idb.NewSelect().Model((*Project)(nil)).Where("owner_id = ?", userID).Where("deleted = ?", false).Count(ctx)
	return int(n), mapErr(err)
}

// SoftDeleteProject marks a project deleted and renames it so the name can be reused.
func SoftDeleteProject(ctx context.Context, idb bun.IDB, id string, now time.Time, suffix string) error {
	res, err := idb.NewUpdate().Model((*Project)(nil)).
		Set("original_name = name").
		Set("name = ?", "_deleted_"+now.Format("20060102150405")+"_"+suffix).
		Set("deleted = ?", true).
		Where("id = ?", id).Where("deleted = ?", false).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	return expectRow(res)
}

// ListMembers returns the members of the given projects with their users,
// in member order.
func ListMembers(ctx context.Context, idb bun.IDB, projectIDs ...string) ([]Member, error) {
	if len(projectIDs) == 0 {
		return nil, nil
	}
	var ms []Member
	err := idb.NewSelect().Model(&ms).Relation("User").
		Where("m.project_id IN (?)", bun.In(projectIDs)).Where("? = ?", bun.Ident("user.deleted"), false).
		OrderExpr("m.member_num ASC, ? ASC", bun.Ident("user.name")).Scan(ctx)
	return ms, mapErr(err)
}

// GetMember returns a user's membership of a project.
func GetMember(ctx context.Context, idb bun.IDB, projectID, userID string) (*Member, error) {
	m := new(Member)
	err := idb.NewSelect().Model(m).Where("project_id = ?", projectID).Where("user_id = ?", userID).Scan(ctx)
	return m, mapErr(err)
}

// UpsertMember sets a user's role in a project, adding the member if needed.
func UpsertMember(ctx context.Context, idb bun.IDB, m *Member) error {
	_, err := idb.NewInsert().Model(m).
		On("CONFLICT (project_id, user_id) DO UPDATE").
		Set("project_role = EXCLUDED.project_role").Exec(ctx)
	return mapErr(err)
}

// DeleteMembers removes users from a project.
func DeleteMembers(ctx context.Context, idb bun.IDB, projectID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	_, err := idb.NewDelete().Model((*Member)(nil)).
		Where("project_id = ?", projectID).Where("user_id IN (?)", bun.In(userIDs)).Exec(ctx)
	return mapErr(err)
}

// NextMemberNum is one more than the largest member_num of a project.
func NextMemberNum(ctx context.Context, idb bun.IDB, projectID string) (int, error) {
	var n *int
	err := idb.NewSelect().Model((*Member)(nil)).ColumnExpr("MAX(member_num)").
		Where("project_id = ?", projectID).Scan(ctx, &n)
	if err != nil {
		return 0, mapErr(err)
	}
	if n == nil {
		return 0, nil
	}
	return *n + 1, nil
}

// LockProject holds a live project's row until tx ends: exclusive to
// change the project itself (deleting it), shared to add work to it (runs,
// fleets), so that no work lands in a project while it is deleted. It
// returns ErrNotFound when the project is gone. SQLite serializes write
// transactions already; there it only checks the project.
func LockProject(ctx context.Context, tx bun.Tx, id string, exclusive bool) error {
	q := tx.NewSelect().Model((*Project)(nil)).Column("id").Where("id = ?", id).Where("deleted = ?", false)
	if tx.Dialect().Name() == dialect.PG {
		if exclusive {
			q = q.For("UPDATE")
		} else {
			q = q.For("SHARE")
		}
	}
	var got string
	return mapErr(q.Scan(ctx, &got))
}

// ProjectActiveWork names what keeps a project from being deleted: its
// unfinished runs and its live fleets.
func ProjectActiveWork(ctx context.Context, idb bun.IDB, id string) (runs, fleets []string, err error) {
	err = idb.NewSelect().Model((*Run)(nil)).Column("run_name").Where("project_id = ?", id).
		Where("deleted = ?", false).Where("status NOT IN (?)", bun.In(finishedRunStatuses)).
		OrderExpr("run_name").Scan(ctx, &runs)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	err = idb.NewSelect().Model((*Fleet)(nil)).Column("name").Where("project_id = ?", id).
		Where("deleted = ?", false).OrderExpr("name").Scan(ctx, &fleets)
	return runs, fleets, mapErr(err)
}

// LockNamed serializes transactions that check and then write what no
// constraint covers, by a name: on PostgreSQL a transaction-scoped advisory
// lock; SQLite serializes write transactions already.
func LockNamed(ctx context.Context, tx bun.Tx, name string) error {
	if tx.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", lockKey(name))
	return mapErr(err)
}

// ListUserMemberships returns the ids of the projects a user is a member of.
func ListUserMemberships(ctx context.Context, idb bun.IDB, userID string) ([]string, error) {
	var ids []string
	err := idb.NewSelect().Model((*Member)(nil)).Column("project_id").Where("user_id = ?", userID).Scan(ctx, &ids)
	return ids, mapErr(err)
}
