package api_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/api/apitest"
)

// M is a JSON object literal.
type M = apitest.M

// testPublicKey and otherPublicKey are fixed ed25519 keys in
// authorized_keys format, without comment.
var testPublicKey, otherPublicKey = seededPublicKey(0), seededPublicKey(1)

// seededPublicKey is the public key of the ed25519 seed of n's bytes.
func seededPublicKey(n byte) string {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = n
	priv := ed25519.NewKeyFromSeed(seed)
	k, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// each runs fn against a fresh server on every dialect.
func each(t *testing.T, fn func(t *testing.T, s *apitest.Server), opts ...apitest.Option) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, d *db.DB) { fn(t, apitest.New(t, d, opts...)) })
}

// requireUUID4 checks a canonical lowercase version-4 UUID.
func requireUUID4(t *testing.T, v any) {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "want a uuid string, got %#v", v)
	u, err := uuid.Parse(s)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(4), u.Version(), s)
	require.Equal(t, u.String(), s, "uuid must be canonical lowercase")
}

// requireAwareTime checks an ISO-8601 UTC timestamp ending in Z.
func requireAwareTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "want a timestamp string, got %#v", v)
	require.True(t, strings.HasSuffix(s, "Z"), "timestamp %q must end with Z", s)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}
