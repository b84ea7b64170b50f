package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// ListUsers lists the users the token may see.
func (c *Client) ListUsers(ctx context.Context) ([]schemas.User, error) {
	var out []schemas.User
	return out, c.Call(ctx, "/api/users/list", schemas.ListUsersRequest{}, &out)
}

// GetMyUser returns the token's user with credentials.
func (c *Client) GetMyUser(ctx context.Context) (*schemas.UserWithCreds, error) {
	out := new(schemas.UserWithCreds)
	return out, c.Call(ctx, "/api/users/get_my_user", nil, out)
}

// GetUser returns a user with credentials.
func (c *Client) GetUser(ctx context.Context, name string) (*schemas.UserWithCreds, error) {
	out := new(schemas.UserWithCreds)
	return out, c.Call(ctx, "/api/users/get_user", schemas.GetUserRequest{Username: name}, out)
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, req schemas.CreateUserRequest) (*schemas.User, error) {
	out := new(schemas.User)
	return out, c.Call(ctx, "/api/users/create", req, out)
}

// UpdateUser updates a user.
func (c *Client) UpdateUser(ctx context.Context, req schemas.UpdateUserRequest) (*schemas.User, error) {
	out := new(schemas.User)
	return out, c.Call(ctx, "/api/users/update", req, out)
}

// RefreshToken replaces a user's token.
func (c *Client) RefreshToken(ctx context.Context, name string) (*schemas.UserWithCreds, error) {
	out := new(schemas.UserWithCreds)
	return out, c.Call(ctx, "/api/users/refresh_token", schemas.RefreshTokenRequest{Username: name}, out)
}

// DeleteUsers deletes users.
func (c *Client) DeleteUsers(ctx context.Context, names []string) error {
	return c.Call(ctx, "/api/users/delete", schemas.DeleteUsersRequest{Users: names}, nil)
}

// AddPublicKey registers an SSH public key for a user (nil: the token's
// user; another user needs a global admin's token).
func (c *Client) AddPublicKey(ctx context.Context, key string, name, username *string) (*schemas.PublicKeyInfo, error) {
	out := new(schemas.PublicKeyInfo)
	return out, c.Call(ctx, "/api/users/public_keys/add", schemas.AddPublicKeyRequest{Key: key, Name: name, Username: username}, out)
}

// ListPublicKeys lists the token's user's SSH public keys.
func (c *Client) ListPublicKeys(ctx context.Context) ([]schemas.PublicKeyInfo, error) {
	var out []schemas.PublicKeyInfo
	return out, c.Call(ctx, "/api/users/public_keys/list", nil, &out)
}
