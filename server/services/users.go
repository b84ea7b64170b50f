package services

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

var usernameRe = schemas.MustNameRule(`^[a-zA-Z0-9-_]{1,60}$`)

// Users manages users, their tokens and SSH keys.
type Users struct{ *Env }

// Authenticate finds the active user owning token; the token is looked up by
// its sha256 and never decrypted.
func (s Users) Authenticate(ctx context.Context, token string) (*db.User, error) {
	invalid := &Error{Kind: KindInvalidToken, Msg: "Invalid token"}
	u, err := db.GetUserByTokenHash(ctx, s.DB, tokenHash(token))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !u.Active) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	// As upstream: a token no configured key can decrypt does not log in,
	// so a removed key shows up as refused logins, not as failures later.
	stored, err := db.Unseal(s.Sealer, db.UsersToken, u.ID, u.Token)
	if err != nil {
		s.Log.Warn("refused a token that cannot be decrypted", "user", u.Name, "err", err)
		return nil, invalid
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(token)) != 1 {
		return nil, invalid
	}
	return u, nil
}

// Schema renders a user for the API.
func (s Users) Schema(u *db.User) schemas.User {
	created := u.CreatedAt.UTC()
	return schemas.User{
		ID: u.ID, Username: u.Name, CreatedAt: &created,
		GlobalRole: schemas.GlobalRole(u.GlobalRole), Email: u.Email, Active: u.Active,
		Permissions:  schemas.UserPermissions{CanCreateProjects: s.canCreateProjects(u)},
		SSHPublicKey: u.SSHPublicKey,
	}
}

func (s Users) canCreateProjects(u *db.User) bool {
	return isAdmin(u) || s.Perms.AllowNonAdminsCreateProjects
}

// WithCreds renders a user with their token and SSH key pair, creating the
// key pair first if the user has none (the official client requires it).
func (s Users) WithCreds(ctx context.Context, u *db.User) (*schemas.UserWithCreds, error) {
	if u.SSHPrivateKey == nil || u.SSHPublicKey == nil {
		if err := s.firstSSHKey(ctx, u); err != nil {
			return nil, err
		}
	}
	token, err := db.Unseal(s.Sealer, db.UsersToken, u.ID, u.Token)
	if err != nil {
		return nil, err
	}
	priv, err := db.Unseal(s.Sealer, db.UsersSSHPrivateKey, u.ID, *u.SSHPrivateKey)
	if err != nil {
		return nil, err
	}
	return &schemas.UserWithCreds{User: s.Schema(u), Creds: schemas.UserTokenCreds{Token: token}, SSHPrivateKey: &priv}, nil
}

// firstSSHKey gives a user without one an SSH key pair. Requests of one
// user arrive together (a client's first commands, several clients at
// once); the first pair stored is everyone's, or runs submitted with one
// key would not let the user in with another.
func (s Users) firstSSHKey(ctx context.Context, u *db.User) error {
	priv, pub, err := userKeyPair(u.Name)
	if err != nil {
		return err
	}
	sealed, err := db.Seal(s.Sealer, db.UsersSSHPrivateKey, u.ID, priv)
	if err != nil {
		return err
	}
	stored, err := db.SetUserSSHKeyIfUnset(ctx, s.DB, u.ID, sealed, pub)
	if err != nil {
		return fmt.Errorf("store ssh key of %s: %w", u.Name, err)
	}
	if stored {
		u.SSHPrivateKey, u.SSHPublicKey = &sealed, &pub
		return nil
	}
	cur, err := db.GetUserByID(ctx, s.DB, u.ID)
	if err != nil {
		return err
	}
	u.SSHPrivateKey, u.SSHPublicKey = cur.SSHPrivateKey, cur.SSHPublicKey
	return nil
}

func (s Users) setSSHKey(ctx context.Context, u *db.User) error {
	priv, pub, err := userKeyPair(u.Name)
	if err != nil {
		return err
	}
	sealed, err := db.Seal(s.Sealer, db.UsersSSHPrivateKey, u.ID, priv)
	if err != nil {
		return err
	}
	u.SSHPrivateKey, u.SSHPublicKey = &sealed, &pub
	if err := db.UpdateUser(ctx, s.DB, u, "ssh_private_key", "ssh_public_key"); err != nil {
		return fmt.Errorf("store ssh key of %s: %w", u.Name, err)
	}
	return nil
}

// Get returns a user by name: users see themselves, admins see everyone.
func (s Users) Get(ctx context.Context, actor *db.User, username string) (*schemas.UserWithCreds, error) {
	u, err := db.GetUserByName(ctx, s.DB, username)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !isAdmin(actor) && u.ID != actor.ID) {
		return nil, NotFound("User %s not found", username)
	}
	if err != nil {
		return nil, err
	}
	return s.WithCreds(ctx, u)
}

// List returns users (non-admins see only themselves) as a plain list, or
// with a total count when asked.
func (s Users) List(ctx context.Context, actor *db.User, req schemas.ListUsersRequest) (any, error) {
	page, err := pageOf(req.PrevCreatedAt, req.PrevID, req.Limit, req.Ascending, 2000)
	if err != nil {
		return nil, err
	}
	f := db.UserFilter{Page: page}
	if req.NamePattern != nil {
		if !namePatternRe.MatchString(*req.NamePattern) {
			return nil, InvalidField("name_pattern", "name_pattern may contain only letters, digits, '-' and '_'")
		}
		f.NamePattern = *req.NamePattern
	}
	if !isAdmin(actor) {
		f.OnlyID = actor.ID
	}
	us, total, err := db.ListUsers(ctx, s.DB, f, req.ReturnTotalCount)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.User, len(us))
	for i := range us {
		out[i] = s.Schema(&us[i])
	}
	if req.ReturnTotalCount {
		return schemas.UsersInfoList{TotalCount: total, Users: out}, nil
	}
	return out, nil
}

// Create adds a user with a fresh token. token may be given (the admin's
// initial token); otherwise a random uuid4 is used. creator is the actor of
// the event (nil: the new user itself, as for the first admin).
func (s Users) Create(ctx context.Context, creator *db.User, req schemas.CreateUserRequest, token string) (*db.User, error) {
	if !usernameRe.MatchString(req.Username) {
		return nil, InvalidField("username", "Username %q is invalid: use 1-60 letters, digits, '-' or '_'", req.Username)
	}
	if !req.GlobalRole.Valid() {
		return nil, InvalidField("global_role", "Global role %q is invalid: use admin or user", req.GlobalRole)
	}
	if token == "" {
		token = uuid.NewString()
	}
	u := &db.User{
		ID: uuid.NewString(), Name: req.Username, CreatedAt: s.now(), TokenHash: tokenHash(token),
		GlobalRole: string(req.GlobalRole), Email: req.Email, Active: req.Active == nil || *req.Active,
	}
	sealed, err := db.Seal(s.Sealer, db.UsersToken, u.ID, token)
	if err != nil {
		return nil, err
	}
	u.Token = sealed
	if creator == nil {
		creator = u
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.InsertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(creator), "User created", userTarget(u))
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("User %s already exists", req.Username)
	} else if err != nil {
		return nil, fmt.Errorf("create user %s: %w", req.Username, err)
	}
	return u, nil
}

// Update changes a user's role, email and active flag.
func (s Users) Update(ctx context.Context, actor *db.User, req schemas.UpdateUserRequest) (*db.User, error) {
	if !req.GlobalRole.Valid() {
		return nil, InvalidField("global_role", "Global role %q is invalid: use admin or user", req.GlobalRole)
	}
	u, err := db.GetUserByName(ctx, s.DB, req.Username)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("User %s not found", req.Username)
	} else if err != nil {
		return nil, err
	}
	if u.Name == "admin" && req.GlobalRole != schemas.GlobalRoleAdmin {
		return nil, Invalid("The admin user must keep the admin role")
	}
	var changed []string
	if u.GlobalRole != string(req.GlobalRole) {
		changed = append(changed, "global_role")
	}
	if ptrValue(u.Email) != ptrValue(req.Email) {
		changed = append(changed, "email")
	}
	active := req.Active == nil || *req.Active
	if u.Active != active {
		changed = append(changed, "active")
	}
	u.GlobalRole, u.Email, u.Active = string(req.GlobalRole), req.Email, active
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.UpdateUser(ctx, tx, u, "global_role", "email", "active"); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(actor), "User updated. Updated fields: "+fieldList(changed), userTarget(u))
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Lookup finds a live user by name.
func (s Users) Lookup(ctx context.Context, username string) (*db.User, error) {
	u, err := db.GetUserByName(ctx, s.DB, username)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("User %s not found", username)
	}
	return u, err
}

// target resolves a user the actor may act on: themselves, or anyone for admins.
func (s Users) target(ctx context.Context, actor *db.User, username string) (*db.User, error) {
	u, err := db.GetUserByName(ctx, s.DB, username)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !isAdmin(actor) && u.ID != actor.ID) {
		return nil, NotFound("User %s not found", username)
	}
	return u, err
}

// RefreshToken replaces a user's token; the old one stops working at once.
func (s Users) RefreshToken(ctx context.Context, actor *db.User, username string) (*schemas.UserWithCreds, error) {
	u, err := s.target(ctx, actor, username)
	if err != nil {
		return nil, err
	}
	token := uuid.NewString()
	if u.Token, err = db.Seal(s.Sealer, db.UsersToken, u.ID, token); err != nil {
		return nil, err
	}
	u.TokenHash = tokenHash(token)
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.UpdateUser(ctx, tx, u, "token", "token_hash"); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, UserActor(actor), "User token refreshed", userTarget(u))
	})
	if err != nil {
		return nil, err
	}
	return s.WithCreds(ctx, u)
}

// RefreshSSHKey replaces a user's server-managed SSH key pair.
func (s Users) RefreshSSHKey(ctx context.Context, actor *db.User, username string) (*schemas.UserWithCreds, error) {
	u, err := s.target(ctx, actor, username)
	if err != nil {
		return nil, err
	}
	if err := s.setSSHKey(ctx, u); err != nil {
		return nil, err
	}
	return s.WithCreds(ctx, u)
}

// Delete soft-deletes users by name; the admin user cannot be deleted.
func (s Users) Delete(ctx context.Context, actor *db.User, names []string) error {
	ids := make([]string, 0, len(names))
	var targets []db.EventTarget
	for _, n := range names {
		if strings.EqualFold(n, "admin") {
			return Invalid("The admin user cannot be deleted")
		}
		u, err := db.GetUserByName(ctx, s.DB, n)
		if errors.Is(err, db.ErrNotFound) {
			return NotFound("User %s not found", n)
		} else if err != nil {
			return err
		}
		ids = append(ids, u.ID)
		targets = append(targets, userTarget(u))
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.SoftDeleteUsers(ctx, tx, ids, s.now(), func() string { return randomHex(4) }); err != nil {
			return err
		}
		for _, t := range targets {
			if err := s.recordEvent(ctx, tx, UserActor(actor), "User deleted", t); err != nil {
				return err
			}
		}
		return nil
	})
}

func isAdmin(u *db.User) bool { return u.GlobalRole == string(schemas.GlobalRoleAdmin) }
