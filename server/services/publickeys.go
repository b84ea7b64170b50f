package services

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// PublicKeys manages the SSH public keys users register for themselves.
type PublicKeys struct{ *Env }

func keySchema(k *db.PublicKey) schemas.PublicKeyInfo {
	return schemas.PublicKeyInfo{ID: k.ID, AddedAt: k.AddedAt.UTC(), Name: k.Name, Type: k.Type, Fingerprint: k.Fingerprint}
}

// List returns the actor's keys.
func (s PublicKeys) List(ctx context.Context, actor *db.User) ([]schemas.PublicKeyInfo, error) {
	ks, err := db.ListPublicKeys(ctx, s.DB, actor.ID)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.PublicKeyInfo, len(ks))
	for i := range ks {
		out[i] = keySchema(&ks[i])
	}
	return out, nil
}

// Add registers a key in authorized_keys format; the name defaults to the
// key's comment, else its fingerprint.
func (s PublicKeys) Add(ctx context.Context, user *db.User, key string, name *string) (*schemas.PublicKeyInfo, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(key)))
	if err != nil {
		return nil, InvalidField("key", "Key is not an SSH public key in authorized_keys format (e.g. \"ssh-ed25519 AAAA... me@laptop\"): %v", err)
	}
	k := &db.PublicKey{
		ID: uuid.NewString(), UserID: user.ID, Type: pk.Type(), Fingerprint: ssh.FingerprintSHA256(pk),
		Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), AddedAt: s.now(),
	}
	switch {
	case name != nil && strings.TrimSpace(*name) != "":
		k.Name = strings.TrimSpace(*name)
	case comment != "":
		k.Name = comment
	default:
		k.Name = k.Fingerprint
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// One live user per key: the console signs in whoever registered
		// the key it is offered, and a key of two users is nobody's.
		if err := db.LockNamed(ctx, tx, "user_public_keys"); err != nil {
			return err
		}
		owners, err := db.FindUsersByKeyFingerprint(ctx, tx, k.Fingerprint)
		if err != nil {
			return err
		}
		for _, o := range owners {
			if o.ID != user.ID {
				return InvalidField("key", "Key %s is registered to another dstack user; register a key of your own", k.Fingerprint)
			}
		}
		return db.InsertPublicKey(ctx, tx, k)
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("Key %s is already added", k.Fingerprint)
	} else if err != nil {
		return nil, err
	}
	out := keySchema(k)
	return &out, nil
}

// Delete removes the actor's keys by id.
func (s PublicKeys) Delete(ctx context.Context, actor *db.User, ids []string) error {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return InvalidField("ids", "%q is not a key id", id)
		}
	}
	return db.DeletePublicKeys(ctx, s.DB, actor.ID, ids)
}

// UsersByKey returns the users who registered this public key (console over SSH).
func (s PublicKeys) UsersByKey(ctx context.Context, pk ssh.PublicKey) ([]db.User, error) {
	return db.FindUsersByKeyFingerprint(ctx, s.DB, ssh.FingerprintSHA256(pk))
}
