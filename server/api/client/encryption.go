package client

import (
	"context"

	"github.com/dstackgo/dstack/server/schemas"
)

// EncryptionStatus counts stored values per encryption key (admins only).
func (c *Client) EncryptionStatus(ctx context.Context) (*schemas.EncryptionStatus, error) {
	out := new(schemas.EncryptionStatus)
	return out, c.Call(ctx, "/api/admin/encryption/status", nil, out)
}

// Reencrypt rewraps one batch of stored values with the first key.
func (c *Client) Reencrypt(ctx context.Context, req schemas.ReencryptRequest) (*schemas.ReencryptResult, error) {
	out := new(schemas.ReencryptResult)
	return out, c.Call(ctx, "/api/admin/encryption/reencrypt", req, out)
}
