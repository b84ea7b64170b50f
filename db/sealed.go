package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Sealer encrypts values at rest and opens them again; *crypto.Keyring is
// the implementation. aad binds a ciphertext to its table, column and row.
type Sealer interface {
	Encrypt(plaintext string, aad []byte) (string, error)
	Decrypt(stored string, aad []byte) (string, error)
}

// Column names a column whose values are stored sealed.
type Column struct {
	Table string
	Name  string
}

// The sealed columns. Every value written to one of them goes through Seal,
// and every read through Unseal; encryption status and re-encryption walk this
// list, so a new sealed column is added here and nowhere else.
var (
	UsersToken         = Column{"users", "token"}
	UsersSSHPrivateKey = Column{"users", "ssh_private_key"}
	ProjectsSSHKey     = Column{"projects", "ssh_private_key"}
	SecretsValue       = Column{"secrets", "value"}
	BackendsAuth       = Column{"backends", "auth"}
	BackendsSourceAuth = Column{"backends", "source_auth"}
	RepoCredsCreds     = Column{"repo_creds", "creds"}
	FleetsSSHKeys      = Column{"fleets", "ssh_private_keys"}
	InstancesSSHTarget = Column{"instances", "remote_connection_info"}
)

// SealedColumns lists every sealed column.
var SealedColumns = []Column{UsersToken, UsersSSHPrivateKey, ProjectsSSHKey, SecretsValue, BackendsAuth,
	BackendsSourceAuth, RepoCredsCreds, FleetsSSHKeys, InstancesSSHTarget}

// String is "table.column".
func (c Column) String() string { return c.Table + "." + c.Name }

// AAD is the associated data that binds a value to its row.
func (c Column) AAD(rowID string) []byte { return []byte(c.Table + "." + c.Name + ":" + rowID) }

// Seal encrypts plain for column c of row id.
func Seal(s Sealer, c Column, id, plain string) (string, error) {
	v, err := s.Encrypt(plain, c.AAD(id))
	if err != nil {
		return "", fmt.Errorf("encrypt %s of %s: %w", c, id, err)
	}
	return v, nil
}

// Unseal decrypts the stored value of column c of row id.
func Unseal(s Sealer, c Column, id, stored string) (string, error) {
	v, err := s.Decrypt(stored, c.AAD(id))
	if err != nil {
		return "", fmt.Errorf("decrypt %s of %s: %w", c, id, err)
	}
	return v, nil
}

// SealedValue is one stored value of a sealed column.
type SealedValue struct {
	ID    string `bun:"id"`
	Value string `bun:"value"`
}

// ScanSealed returns up to limit non-null values of column c with ids after
// afterID, in id order, for walking a column in batches.
func ScanSealed(ctx context.Context, idb bun.IDB, c Column, afterID string, limit int) ([]SealedValue, error) {
	var out []SealedValue
	q := idb.NewSelect().TableExpr("?", bun.Ident(c.Table)).
		ColumnExpr("id").ColumnExpr("? AS value", bun.Ident(c.Name)).
		Where("? IS NOT NULL", bun.Ident(c.Name))
	if afterID != "" {
		q = q.Where("id > ?", afterID)
	}
	err := q.OrderExpr("id").Limit(int64(limit)).Scan(ctx, &out)
	return out, mapErr(err)
}

// RewrapSealed replaces one stored value only if it still equals old, so a
// concurrent write by a running server is never overwritten with stale data.
// It reports whether the row was updated.
func RewrapSealed(ctx context.Context, idb bun.IDB, c Column, id, old, new string) (bool, error) {
	res, err := idb.NewUpdate().TableExpr("?", bun.Ident(c.Table)).
		Set("? = ?", bun.Ident(c.Name), new).
		Where("id = ?", id).Where("? = ?", bun.Ident(c.Name), old).Exec(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Rewrap is one compare-and-swap replacement of a stored value.
type Rewrap struct{ ID, Old, New string }

// RewrapSealedBatch applies many RewrapSealed at once and reports how many
// rows still held their old value and were updated. PostgreSQL gets one
// statement joining a VALUES list; SQLite, where statements cost no round
// trip, one short transaction of primary-key updates.
func RewrapSealedBatch(ctx context.Context, idb bun.IDB, c Column, rs []Rewrap) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	if idb.Dialect().Name() != dialect.PG {
		n := 0
		err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, r := range rs {
				ok, err := RewrapSealed(ctx, tx, c, r.ID, r.Old, r.New)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
			return nil
		})
		return n, err
	}
	var b strings.Builder
	args := []any{bun.Ident(c.Table), bun.Ident(c.Name)}
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?::uuid, ?, ?)")
		args = append(args, r.ID, r.Old, r.New)
	}
	args = append(args, bun.Ident(c.Name))
	q := "UPDATE ? AS t SET ? = v.new FROM (VALUES " + b.String() + ") AS v(id, old, new) WHERE t.id = v.id AND t.? = v.old"
	res, err := idb.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
