package services_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/config"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func aesKey(t testing.TB, name string) crypto.KeyConfig {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return crypto.KeyConfig{Type: "aes", Name: name, Secret: base64.StdEncoding.EncodeToString(b)}
}

func keyring(t testing.TB, keys ...crypto.KeyConfig) *crypto.Keyring {
	t.Helper()
	kr, err := crypto.NewKeyring(keys)
	require.NoError(t, err)
	return kr
}

func newEnv(d *db.DB, kr *crypto.Keyring) *services.Env {
	return &services.Env{DB: d, Sealer: kr, Perms: config.DefaultDefaultPermissions, ProjectQuota: 10, Log: slog.New(slog.DiscardHandler)}
}

// world is what a rotation test writes and later reads back.
type world struct {
	adminToken string
	userToken  string
	secrets    map[string]string
}

func seed(t *testing.T, env *services.Env) world {
	ctx := context.Background()
	token, err := services.Bootstrap(ctx, env, "admin-token", []string{"main"})
	require.NoError(t, err)
	u, err := services.Users{Env: env}.Create(ctx, schemas.CreateUserRequest{Username: "alice", GlobalRole: schemas.GlobalRoleUser}, "alice-token")
	require.NoError(t, err)
	_, err = services.Users{Env: env}.WithCreds(ctx, u) // creates alice's SSH key
	require.NoError(t, err)
	p, err := db.GetProjectByName(ctx, env.DB, "main")
	require.NoError(t, err)
	w := world{adminToken: token, userToken: "alice-token", secrets: map[string]string{}}
	for _, n := range []string{"HF_TOKEN", "WANDB_KEY", "DB_PASSWORD"} {
		_, err := services.Secrets{Env: env}.Set(ctx, p, n, "value-of-"+n)
		require.NoError(t, err)
		w.secrets[n] = "value-of-" + n
	}
	return w
}

// check logs in with every token and reads every secret back.
func check(t *testing.T, env *services.Env, w world) {
	t.Helper()
	ctx := context.Background()
	for _, tok := range []string{w.adminToken, w.userToken} {
		u, err := services.Users{Env: env}.Authenticate(ctx, tok)
		require.NoError(t, err)
		creds, err := services.Users{Env: env}.WithCreds(ctx, u)
		require.NoError(t, err)
		require.Equal(t, tok, creds.Creds.Token)
		require.Contains(t, *creds.SSHPrivateKey, "PRIVATE KEY")
	}
	p, err := db.GetProjectByName(ctx, env.DB, "main")
	require.NoError(t, err)
	got, err := services.Secrets{Env: env}.Values(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, w.secrets, got)
}

func status(t *testing.T, env *services.Env, kr *crypto.Keyring) (byKey map[string]int, rewrap, bad int) {
	t.Helper()
	st, err := services.Encryption{Env: env, Keys: kr}.Status(context.Background())
	require.NoError(t, err)
	byKey = map[string]int{}
	for _, c := range st.Columns {
		for k, n := range c.ByKey {
			byKey[k] += n
		}
		rewrap += c.NeedsRewrap
		bad += c.Undecryptable
	}
	return byKey, rewrap, bad
}

func reencryptAll(t *testing.T, env *services.Env, kr *crypto.Keyring, batch int) int {
	t.Helper()
	cursor, total := "", 0
	for {
		res, err := services.Encryption{Env: env, Keys: kr}.Reencrypt(context.Background(), cursor, batch)
		require.NoError(t, err)
		total += res.Rewrapped
		if res.Cursor == nil {
			return total
		}
		cursor = *res.Cursor
	}
}

func TestKeyRotation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		key1, key2 := aesKey(t, "key1"), aesKey(t, "key2")

		kr1 := keyring(t, key1)
		w := seed(t, newEnv(d, kr1))
		byKey, _, _ := status(t, newEnv(d, kr1), kr1)
		require.Equal(t, map[string]int{"aes:key1": 7}, byKey) // 2 tokens, alice's SSH key, the project key, 3 secrets
		assertNoPlaintext(t, d, w)

		kr21 := keyring(t, key2, key1)
		env := newEnv(d, kr21)
		check(t, env, w) // old values still read; this also creates the admin's SSH key, under key2
		_, rewrap, _ := status(t, env, kr21)
		require.Equal(t, 7, rewrap)
		require.Equal(t, 7, reencryptAll(t, env, kr21, 2))
		byKey, rewrap, bad := status(t, env, kr21)
		require.Equal(t, map[string]int{"aes:key2": 8}, byKey)
		require.Zero(t, rewrap)
		require.Zero(t, bad)
		require.Zero(t, reencryptAll(t, env, kr21, 1000), "a second pass is a no-op")

		kr2 := keyring(t, key2)
		check(t, newEnv(d, kr2), w) // key1 removed: everything still works

		kr1only := keyring(t, key1)
		_, _, bad = status(t, newEnv(d, kr1only), kr1only)
		require.Equal(t, 8, bad, "values under a removed key are reported undecryptable")
	})
}

func TestIdentityFirstWritesPlaintextButReadsAES(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		key1 := aesKey(t, "key1")
		w := seed(t, newEnv(d, keyring(t, key1)))
		kr := keyring(t, crypto.KeyConfig{Type: "identity"}, key1)
		env := newEnv(d, kr)
		check(t, env, w)
		p, err := db.GetProjectByName(context.Background(), d, "main")
		require.NoError(t, err)
		_, err = services.Secrets{Env: env}.Set(context.Background(), p, "NEW", "plain")
		require.NoError(t, err)
		s, err := db.GetSecret(context.Background(), d, p.ID, "NEW")
		require.NoError(t, err)
		require.Equal(t, "enc:identity:noname:plain", s.Value)
	})
}

func TestReencryptInterruptedAndResumed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key1, key2 := aesKey(t, "key1"), aesKey(t, "key2")
		w := seed(t, newEnv(d, keyring(t, key1)))
		kr := keyring(t, key2, key1)
		env := newEnv(d, kr)
		enc := services.Encryption{Env: env, Keys: kr}
		res, err := enc.Reencrypt(ctx, "", 4)
		require.NoError(t, err)
		require.NotNil(t, res.Cursor)
		require.Equal(t, 4, res.Scanned)
		// The operator's run dies here. A new run from the start finishes
		// the job; so does resuming from the cursor.
		rest := reencryptAll(t, env, kr, 3)
		require.Equal(t, 7-res.Rewrapped, rest)
		_, rewrap, _ := status(t, env, kr)
		require.Zero(t, rewrap)
		check(t, newEnv(d, keyring(t, key2)), w)

		_, err = enc.Reencrypt(ctx, "nonsense", 10)
		require.Error(t, err)
	})
}

func TestRewrapKeepsConcurrentWrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		kr := keyring(t, aesKey(t, "key1"))
		seed(t, newEnv(d, kr))
		vs, err := db.ScanSealed(ctx, d, db.SecretsValue, "", 10)
		require.NoError(t, err)
		require.Len(t, vs, 3)
		ok, err := db.RewrapSealed(ctx, d, db.SecretsValue, vs[0].ID, "stale value", "new value")
		require.NoError(t, err)
		require.False(t, ok, "a row changed since it was read must not be overwritten")
		ok, err = db.RewrapSealed(ctx, d, db.SecretsValue, vs[0].ID, vs[0].Value, vs[0].Value)
		require.NoError(t, err)
		require.True(t, ok)
	})
}

func TestCopiedCiphertextDoesNotDecryptInAnotherRow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		kr := keyring(t, aesKey(t, "key1"))
		env := newEnv(d, kr)
		seed(t, env)
		vs, err := db.ScanSealed(ctx, d, db.SecretsValue, "", 10)
		require.NoError(t, err)
		ok, err := db.RewrapSealed(ctx, d, db.SecretsValue, vs[1].ID, vs[1].Value, vs[0].Value)
		require.NoError(t, err)
		require.True(t, ok)
		p, err := db.GetProjectByName(ctx, d, "main")
		require.NoError(t, err)
		_, err = services.Secrets{Env: env}.Values(ctx, p.ID)
		require.ErrorIs(t, err, crypto.ErrUndecryptable)
	})
}

// assertNoPlaintext checks that no stored value contains a secret in clear.
func assertNoPlaintext(t *testing.T, d *db.DB, w world) {
	t.Helper()
	for _, c := range db.SealedColumns {
		vs, err := db.ScanSealed(context.Background(), d, c, "", 1000)
		require.NoError(t, err)
		for _, v := range vs {
			require.True(t, strings.HasPrefix(v.Value, "enc:aes:key1:"), "%s: %.20s", c, v.Value)
			for _, s := range append([]string{w.adminToken, w.userToken}, values(w.secrets)...) {
				require.NotContains(t, v.Value, s)
			}
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
