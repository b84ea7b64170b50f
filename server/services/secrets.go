package services

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

var secretNameRe = schemas.MustNameRule(`^[A-Za-z0-9-_]{1,200}$`)

// maxSecretValue is upstream's limit on a secret's length, in characters.
const maxSecretValue = 5000

// Secrets manages project secrets, stored sealed.
type Secrets struct{ *Env }

// CanManage reports whether the actor may read and write a project's secrets:
// global admins, project admins, and managers when allowed by config.
func (s Secrets) CanManage(a *Access) bool {
	return a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin ||
		(a.Role == schemas.ProjectRoleManager && s.Perms.AllowManagersManageSecrets)
}

// List returns a project's secrets without values.
func (s Secrets) List(ctx context.Context, p *db.Project) ([]schemas.Secret, error) {
	ss, err := db.ListSecrets(ctx, s.DB, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	out := make([]schemas.Secret, len(ss))
	for i, x := range ss {
		out[i] = schemas.Secret{ID: x.ID, Name: x.Name}
	}
	return out, nil
}

// Get returns one secret with its value.
func (s Secrets) Get(ctx context.Context, p *db.Project, name string) (*schemas.Secret, error) {
	x, err := db.GetSecret(ctx, s.DB, p.ID, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Secret %s not found", name)
	} else if err != nil {
		return nil, err
	}
	v, err := db.Unseal(s.Sealer, db.SecretsValue, x.ID, x.Value)
	if err != nil {
		return nil, err
	}
	return &schemas.Secret{ID: x.ID, Name: x.Name, Value: &v}, nil
}

// Values returns every secret of a project, decrypted, for interpolation
// into runs.
func (s Secrets) Values(ctx context.Context, projectID string) (map[string]string, error) {
	ss, err := db.ListSecrets(ctx, s.DB, projectID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ss))
	for _, x := range ss {
		v, err := db.Unseal(s.Sealer, db.SecretsValue, x.ID, x.Value)
		if err != nil {
			return nil, err
		}
		out[x.Name] = v
	}
	return out, nil
}

// Set creates or replaces a secret.
func (s Secrets) Set(ctx context.Context, actor Actor, p *db.Project, name, value string) (*schemas.Secret, error) {
	if !secretNameRe.MatchString(name) {
		return nil, InvalidField("name", "Secret name %q is invalid: use 1-200 letters, digits, '-' or '_'", name)
	}
	if n := len([]rune(value)); n > maxSecretValue {
		return nil, InvalidField("value", "Secret value is %d characters long; the limit is %d", n, maxSecretValue)
	}
	now := s.now()
	x, err := db.GetSecret(ctx, s.DB, p.ID, name)
	switch {
	case errors.Is(err, db.ErrNotFound):
		x = &db.Secret{ID: uuid.NewString(), ProjectID: p.ID, Name: name, CreatedAt: now, UpdatedAt: now}
		if x.Value, err = db.Seal(s.Sealer, db.SecretsValue, x.ID, value); err != nil {
			return nil, err
		}
		err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := db.InsertSecret(ctx, tx, x); err != nil {
				return err
			}
			return s.recordEvent(ctx, tx, actor, "Secret created", secretTarget(x))
		})
		if errors.Is(err, db.ErrConflict) {
			return s.Set(ctx, actor, p, name, value) // created concurrently: update it instead
		} else if err != nil {
			return nil, fmt.Errorf("store secret %s: %w", name, err)
		}
	case err != nil:
		return nil, err
	default:
		if x.Value, err = db.Seal(s.Sealer, db.SecretsValue, x.ID, value); err != nil {
			return nil, err
		}
		x.UpdatedAt = now
		err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := db.UpdateSecretValue(ctx, tx, x); err != nil {
				return err
			}
			return s.recordEvent(ctx, tx, actor, "Secret updated", secretTarget(x))
		})
		if err != nil {
			return nil, fmt.Errorf("store secret %s: %w", name, err)
		}
	}
	return &schemas.Secret{ID: x.ID, Name: x.Name, Value: &value}, nil
}

// Delete removes secrets by name; naming a missing secret is an error.
func (s Secrets) Delete(ctx context.Context, actor Actor, p *db.Project, names []string) error {
	var targets []db.EventTarget
	for _, n := range names {
		x, err := db.GetSecret(ctx, s.DB, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			return NotFound("Secret %s not found", n)
		} else if err != nil {
			return err
		}
		targets = append(targets, secretTarget(x))
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := db.DeleteSecrets(ctx, tx, p.ID, names); err != nil {
			return err
		}
		for _, t := range targets {
			if err := s.recordEvent(ctx, tx, actor, "Secret deleted", t); err != nil {
				return err
			}
		}
		return nil
	})
}
