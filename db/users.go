package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Page selects one page of a list ordered by (timestamp, id): newest first
// unless Ascending, continuing after (PrevTime, PrevID) when set. Limit
// caps the rows: 0 selects none (a count-only request), below 0 is unlimited.
type Page struct {
	PrevTime  *time.Time
	PrevID    *string
	Limit     int
	Ascending bool
}

// apply adds the keyset condition and the order to q for columns ts and id.
func (p Page) apply(q *bun.SelectQuery, ts, id string) *bun.SelectQuery {
	if p.PrevTime != nil {
		prevID := ""
		if p.PrevID != nil {
			prevID = *p.PrevID
		}
		if p.Ascending {
			q = q.Where("(? > ? OR (? = ? AND ? < ?))", bun.Ident(ts), *p.PrevTime, bun.Ident(ts), *p.PrevTime, bun.Ident(id), prevID)
		} else {
			q = q.Where("(? < ? OR (? = ? AND ? > ?))", bun.Ident(ts), *p.PrevTime, bun.Ident(ts), *p.PrevTime, bun.Ident(id), prevID)
		}
	}
	if p.Ascending {
		q = q.OrderExpr("? ASC, ? DESC", bun.Ident(ts), bun.Ident(id))
	} else {
		q = q.OrderExpr("? DESC, ? ASC", bun.Ident(ts), bun.Ident(id))
	}
	switch {
	case p.Limit > 0:
		q = q.Limit(int64(p.Limit))
	case p.Limit == 0:
		q = q.Where("1 = 0")
	}
	return q
}

// InsertUser stores a new user.
func InsertUser(ctx context.Context, idb bun.IDB, u *User) error {
	return insertRow(ctx, idb, u)
}

// UpdateUser writes the named columns of u.
func UpdateUser(ctx context.Context, idb bun.IDB, u *User, columns ...string) error {
	return updateRow(ctx, idb, u, columns...)
}

// SetUserSSHKeyIfUnset stores a user's first SSH key pair, unless one is
// stored already (by a request that raced this one); it reports whether it
// stored this one.
func SetUserSSHKeyIfUnset(ctx context.Context, idb bun.IDB, id, sealedPrivate, public string) (bool, error) {
	res, err := idb.NewUpdate().Model((*User)(nil)).Set("ssh_private_key = ?", sealedPrivate).
		Set("ssh_public_key = ?", public).Where("id = ?", id).Where("ssh_private_key IS NULL").Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetUserByTokenHash finds the live user whose token hashes to hash.
func GetUserByTokenHash(ctx context.Context, idb bun.IDB, hash string) (*User, error) {
	u := new(User)
	err := idb.NewSelect().Model(u).Where("token_hash = ?", hash).Where("deleted = ?", false).Scan(ctx)
	return u, mapErr(err)
}

// GetUserByName finds a live user by name, ignoring case.
func GetUserByName(ctx context.Context, idb bun.IDB, name string) (*User, error) {
	u := new(User)
	err := idb.NewSelect().Model(u).Where("lower(name) = lower(?)", name).Where("deleted = ?", false).Scan(ctx)
	return u, mapErr(err)
}

// GetUserByNameOrEmail finds a live user by name or, failing that, by email.
func GetUserByNameOrEmail(ctx context.Context, idb bun.IDB, key string) (*User, error) {
	u, err := GetUserByName(ctx, idb, key)
	if err != ErrNotFound {
		return u, err
	}
	u = new(User)
	err = idb.NewSelect().Model(u).Where("lower(email) = lower(?)", key).Where("deleted = ?", false).
		OrderExpr("created_at").Limit(1).Scan(ctx)
	return u, mapErr(err)
}

// GetUserByID finds a user by id, deleted or not.
func GetUserByID(ctx context.Context, idb bun.IDB, id string) (*User, error) {
	u := new(User)
	err := idb.NewSelect().Model(u).Where("id = ?", id).Scan(ctx)
	return u, mapErr(err)
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	// NamePattern matches a case-insensitive substring of the name.
	NamePattern string
	// OnlyID limits the result to one user (non-admins see themselves only).
	OnlyID string
	Page   Page
}

// ListUsers returns live users and, when total is wanted, their count
// ignoring the page.
func ListUsers(ctx context.Context, idb bun.IDB, f UserFilter, wantTotal bool) ([]User, int, error) {
	var users []User
	q := idb.NewSelect().Model(&users).Where("deleted = ?", false)
	if f.NamePattern != "" {
		q = q.Where("lower(name) LIKE ?", "%"+lowerASCII(f.NamePattern)+"%")
	}
	if f.OnlyID != "" {
		q = q.Where("id = ?", f.OnlyID)
	}
	total := 0
	if wantTotal {
		n, err := q.Count(ctx)
		if err != nil {
			return nil, 0, mapErr(err)
		}
		total = int(n)
	}
	if err := f.Page.apply(q, "created_at", "id").Scan(ctx); err != nil {
		return nil, 0, mapErr(err)
	}
	return users, total, nil
}

// SoftDeleteUsers marks the named users deleted and renames them so their
// names can be reused; their tokens stop working.
func SoftDeleteUsers(ctx context.Context, idb bun.IDB, ids []string, now time.Time, suffix func() string) error {
	for _, id := range ids {
		_, err := idb.NewUpdate().Model((*User)(nil)).
			Set("original_name = name").
			Set("name = ?", "_deleted_"+now.Format("20060102150405")+"_"+suffix()).
			Set("token_hash = ?", "deleted:"+id).
			Set("deleted = ?", true).
			Set("active = ?", false).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
