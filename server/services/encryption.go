package services

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Keyring is what encryption status and re-encryption need of the sealer.
type Keyring interface {
	db.Sealer
	Keys() []crypto.Key
	Primary() crypto.Key
	Inspect(stored string, aad []byte) crypto.Inspection
}

// Encryption reports on and finishes key rotations.
type Encryption struct {
	*Env
	Keys Keyring
}

// scanBatch is how many values are read per query when walking a column.
const scanBatch = 1000

// Status counts every sealed value by the key that wrote it.
func (s Encryption) Status(ctx context.Context) (*schemas.EncryptionStatus, error) {
	out := &schemas.EncryptionStatus{UnknownKeys: map[string]int{}}
	configured := map[string]bool{}
	for i, k := range s.Keys.Keys() {
		out.Keys = append(out.Keys, schemas.EncryptionKeyInfo{Type: k.Type(), Name: k.Name(), Encrypts: i == 0})
		configured[k.Type()+":"+k.Name()] = true
	}
	for _, c := range db.SealedColumns {
		st := schemas.EncryptionColumnStatus{Table: c.Table, Column: c.Name, ByKey: map[string]int{}}
		after := ""
		for {
			vs, err := db.ScanSealed(ctx, s.DB, c, after, scanBatch)
			if err != nil {
				return nil, fmt.Errorf("scan %s: %w", c, err)
			}
			for _, v := range vs {
				ins := s.Keys.Inspect(v.Value, c.AAD(v.ID))
				st.Total++
				key := ins.KeyType + ":" + ins.KeyName
				switch {
				case ins.Plaintext:
					st.Plaintext++
					key = "plaintext"
				case ins.KeyType == crypto.TypeIdentity:
					st.Plaintext++
				}
				st.ByKey[key]++
				if ins.KeyType != "" && !configured[key] {
					out.UnknownKeys[key]++
				}
				if !ins.Decryptable {
					st.Undecryptable++
				} else if ins.NeedsRewrap {
					st.NeedsRewrap++
				}
			}
			if len(vs) < scanBatch {
				break
			}
			after = vs[len(vs)-1].ID
		}
		out.Columns = append(out.Columns, st)
	}
	return out, nil
}

// Reencrypt rewraps up to limit values with the first key, starting at
// cursor ("" = from the start), and returns where to continue. Each row is
// updated only if it still holds the value read, so a write made meanwhile
// by a running server is kept; the pass is idempotent and can be resumed.
func (s Encryption) Reencrypt(ctx context.Context, cursor string, limit int) (*schemas.ReencryptResult, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	col, after, err := parseCursor(cursor)
	if err != nil {
		return nil, err
	}
	res := &schemas.ReencryptResult{}
	for col < len(db.SealedColumns) && res.Scanned < limit {
		c := db.SealedColumns[col]
		res.Column = c.String()
		want := limit - res.Scanned
		vs, err := db.ScanSealed(ctx, s.DB, c, after, want)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", c, err)
		}
		if err := s.rewrap(ctx, c, vs, res); err != nil {
			return nil, err
		}
		res.Scanned += len(vs)
		if len(vs) < want { // column exhausted
			col, after = col+1, ""
			continue
		}
		after = vs[len(vs)-1].ID
	}
	if col < len(db.SealedColumns) {
		next := strconv.Itoa(col) + ":" + after
		res.Cursor = &next
	}
	return res, nil
}

func (s Encryption) rewrap(ctx context.Context, c db.Column, vs []db.SealedValue, res *schemas.ReencryptResult) error {
	var changes []db.Rewrap
	for _, v := range vs {
		ins := s.Keys.Inspect(v.Value, c.AAD(v.ID))
		if !ins.Decryptable {
			res.Undecryptable++
			continue
		}
		if !ins.NeedsRewrap {
			continue
		}
		plain, err := db.Unseal(s.Keys, c, v.ID, v.Value)
		if err != nil {
			return err
		}
		sealed, err := db.Seal(s.Keys, c, v.ID, plain)
		if err != nil {
			return err
		}
		changes = append(changes, db.Rewrap{ID: v.ID, Old: v.Value, New: sealed})
	}
	n, err := db.RewrapSealedBatch(ctx, s.DB, c, changes)
	if err != nil {
		return fmt.Errorf("rewrap %s: %w", c, err)
	}
	res.Rewrapped += n
	return nil
}

func parseCursor(cursor string) (int, string, error) {
	if cursor == "" {
		return 0, "", nil
	}
	i, id, ok := strings.Cut(cursor, ":")
	n, err := strconv.Atoi(i)
	if !ok || err != nil || n < 0 || n > len(db.SealedColumns) {
		return 0, "", InvalidField("cursor", "cursor %q is not one this server returned", cursor)
	}
	return n, id, nil
}

// CheckKeys logs an error for every key name that protects stored values
// but is not configured, so a removed key shows up at start rather than as
// failed logins later.
func (s Encryption) CheckKeys(ctx context.Context) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(st.UnknownKeys))
	for k := range st.UnknownKeys {
		names = append(names, k)
	}
	sort.Strings(names)
	undecryptable := 0
	for _, c := range st.Columns {
		undecryptable += c.Undecryptable
	}
	for _, k := range names {
		s.Log.Error("stored values were written with an encryption key that config.yml does not list; add the key back (after the first key) or they cannot be read",
			"key", k, "values", st.UnknownKeys[k])
	}
	if undecryptable > 0 {
		s.Log.Error("stored values cannot be decrypted with the configured keys; see `dstack admin encryption status`", "values", undecryptable)
	}
	return nil
}
