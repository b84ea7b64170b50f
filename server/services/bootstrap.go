package services

import (
	"context"
	"errors"
	"fmt"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Bootstrap makes sure the admin user and the listed projects exist, under
// a database-wide lock so replicas starting together create them once. The
// admin gets adminToken on first creation (a random uuid4 when empty); it
// returns the admin's current token.
func Bootstrap(ctx context.Context, env *Env, adminToken string, projects []string) (string, error) {
	unlock, err := env.DB.AdvisoryLock(ctx, "server_init")
	if err != nil {
		return "", err
	}
	defer func() { _ = unlock() }()

	users := Users{env}
	admin, err := db.GetUserByName(ctx, env.DB, "admin")
	if errors.Is(err, db.ErrNotFound) {
		admin, err = users.Create(ctx, nil, schemas.CreateUserRequest{Username: "admin", GlobalRole: schemas.GlobalRoleAdmin}, adminToken)
		if err == nil {
			env.Log.Info("created the admin user")
		}
	}
	if err != nil {
		return "", fmt.Errorf("ensure admin user: %w", err)
	}
	token, err := db.Unseal(env.Sealer, db.UsersToken, admin.ID, admin.Token)
	if errors.Is(err, crypto.ErrUndecryptable) {
		// Start anyway: the admin still logs in (tokens are matched by hash),
		// and `dstack admin encryption status` shows what is missing.
		env.Log.Error("cannot show the admin token: the key that encrypted it is not configured", "err", err)
		token = ""
	} else if err != nil {
		return "", fmt.Errorf("read the admin token: %w", err)
	}
	ps := Projects{env}
	for _, name := range projects {
		if _, err := db.GetProjectByName(ctx, env.DB, name); err == nil {
			continue
		} else if !errors.Is(err, db.ErrNotFound) {
			return "", fmt.Errorf("look up project %s: %w", name, err)
		}
		if _, err := ps.Create(ctx, admin, schemas.CreateProjectRequest{ProjectName: name}); err != nil {
			return "", fmt.Errorf("create project %s: %w", name, err)
		}
		env.Log.Info("created project", "project", name)
	}
	return token, nil
}
