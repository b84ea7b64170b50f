package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/server/api/apitest"
)

func aesKeyring(t *testing.T, name string, seed byte) *crypto.Keyring {
	t.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = seed + byte(i)
	}
	k, err := crypto.NewKeyring([]crypto.KeyConfig{{Type: "aes", Name: name, Secret: base64.StdEncoding.EncodeToString(secret)}})
	require.NoError(t, err)
	return k
}

// TestEncryptionAtRest reads the raw rows: tokens and secret values are
// stored as enc:aes:k1:… and never in plaintext (reference §8).
func TestEncryptionAtRest(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		ctx := t.Context()
		alice := s.CreateUser("alice", "user")
		const value = "plaintext-secret-value-42"
		s.SetSecret(apitest.AdminToken, "main", "db_password", value)
		s.SetSecret(apitest.AdminToken, "main", "empty", "")

		for _, tc := range []struct{ name, token string }{{"admin", apitest.AdminToken}, {"alice", alice}} {
			var stored, hash string
			err := s.DB.NewSelect().Table("users").Column("token", "token_hash").Where("name = ?", tc.name).Scan(ctx, &stored, &hash)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(stored, "enc:aes:k1:"), "users.token of %s: %q", tc.name, stored)
			require.NotContains(t, stored, tc.token)
			sum := sha256.Sum256([]byte(tc.token))
			require.Equal(t, hex.EncodeToString(sum[:]), hash, "token_hash is sha256 hex of the token")

			me := s.OK(tc.token, "/api/users/get_my_user", nil, nil).Object(t)
			require.Equal(t, tc.name, me["username"], "login by token works")
			require.Equal(t, tc.token, me["creds"].(map[string]any)["token"], "the token decrypts")
		}

		var values []string
		err := s.DB.NewSelect().Table("secrets").Column("value").OrderExpr("name").Scan(ctx, &values)
		require.NoError(t, err)
		require.Len(t, values, 2)
		for _, v := range values {
			require.True(t, strings.HasPrefix(v, "enc:aes:k1:"), "secrets.value: %q", v)
			require.NotContains(t, v, value)
		}
		got := s.OK(apitest.AdminToken, "/api/project/main/secrets/get", M{"name": "db_password"}, nil).Object(t)
		require.Equal(t, value, got["value"])

		// A refreshed token is sealed again, with a fresh nonce.
		var before string
		require.NoError(t, s.DB.NewSelect().Table("users").Column("token").Where("name = ?", "alice").Scan(ctx, &before))
		var u struct {
			Creds struct{ Token string } `json:"creds"`
		}
		s.OK(alice, "/api/users/refresh_token", M{"username": "alice"}, &u)
		var after string
		require.NoError(t, s.DB.NewSelect().Table("users").Column("token").Where("name = ?", "alice").Scan(ctx, &after))
		require.True(t, strings.HasPrefix(after, "enc:aes:k1:"))
		require.NotEqual(t, before, after)
		require.NotContains(t, after, u.Creds.Token)
		s.OK(u.Creds.Token, "/api/users/get_my_user", nil, nil)
	}, apitest.WithSealer(aesKeyring(t, "k1", 1)))
}
