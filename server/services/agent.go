package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// NewAgentToken makes the token a cloud instance's user data downloads the
// agent with, and the hash stored on the instance.
func NewAgentToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AgentDownloadAllowed reports whether token is the agent token of a cloud
// instance that is still being set up or running.
func AgentDownloadAllowed(ctx context.Context, env *Env, token string) (*db.Instance, error) {
	if token == "" {
		return nil, &Error{Kind: KindNotAuthenticated, Msg: "Not authenticated"}
	}
	in, err := db.GetInstanceByAgentToken(ctx, env.DB, hashToken(token))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !schemas.InstanceStatus(in.Status).Active()) {
		return nil, &Error{Kind: KindInvalidToken, Msg: "Invalid token"}
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}
