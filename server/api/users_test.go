package api_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/server/api/apitest"
)

func TestGetMyUserCreds(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		token := s.CreateUser("Alice_1", "user")
		first := s.Post(token, "/api/users/get_my_user", nil).Object(t)
		for _, k := range []string{"id", "username", "created_at", "global_role", "email", "active", "permissions", "ssh_public_key", "creds", "ssh_private_key"} {
			require.Contains(t, first, k, "every field is serialized, nulls included")
		}
		require.Equal(t, "Alice_1", first["username"])
		require.Equal(t, "user", first["global_role"])
		require.Equal(t, true, first["active"])
		require.Nil(t, first["email"])
		require.Equal(t, M{"can_create_projects": true}, first["permissions"])
		require.Equal(t, M{"token": token}, first["creds"])
		requireUUID4(t, first["id"])
		requireUUID4(t, token)
		requireAwareTime(t, first["created_at"])

		priv, pub := first["ssh_private_key"].(string), first["ssh_public_key"].(string)
		block, rest := pem.Decode([]byte(priv))
		require.NotNil(t, block, "private key must be PEM")
		require.Empty(t, strings.TrimSpace(string(rest)))
		require.Equal(t, "PRIVATE KEY", block.Type, "PKCS#8, unencrypted")
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err)
		rsaKey, ok := key.(*rsa.PrivateKey)
		require.True(t, ok, "want an RSA key, got %T", key)
		require.Equal(t, 2048, rsaKey.N.BitLen())

		require.True(t, strings.HasSuffix(pub, " Alice_1\n"), "public key %q must end with the username and a newline", pub)
		parsed, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
		require.NoError(t, err)
		require.Equal(t, "Alice_1", comment)
		sshPub, err := ssh.NewPublicKey(&rsaKey.PublicKey)
		require.NoError(t, err)
		require.Equal(t, sshPub.Marshal(), parsed.Marshal(), "the pair must match")

		second := s.Post(token, "/api/users/get_my_user", "").Object(t)
		require.Equal(t, priv, second["ssh_private_key"], "the pair is generated once")
		require.Equal(t, pub, second["ssh_public_key"])

		refreshed := s.Post(token, "/api/users/refresh_ssh_key", M{"username": "Alice_1"}).Object(t)
		require.NotEqual(t, priv, refreshed["ssh_private_key"])
		require.NotEqual(t, pub, refreshed["ssh_public_key"])
		third := s.Post(token, "/api/users/get_my_user", nil).Object(t)
		require.Equal(t, refreshed["ssh_private_key"], third["ssh_private_key"])
	})
}

func TestFirstSSHKeyIsOneForConcurrentRequests(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		// The admin, created at the first start, gets a pair when first asked.
		// A client's first commands, or several clients of one user, ask at
		// once: every answer carries the same pair, the one kept.
		token := apitest.AdminToken
		const n = 8
		keys := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r := s.Post(token, "/api/users/get_my_user", nil)
				var u struct {
					SSHPublicKey string `json:"ssh_public_key"`
				}
				if r.Status != http.StatusOK || json.Unmarshal(r.Body, &u) != nil {
					keys <- string(r.Body)
					return
				}
				keys <- u.SSHPublicKey
			})
		}
		wg.Wait()
		close(keys)
		kept := s.Post(token, "/api/users/get_my_user", nil).Object(t)["ssh_public_key"]
		for k := range keys {
			require.Equal(t, kept, k)
		}
	})
}

func TestRefreshToken(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		old := s.CreateUser("bob", "user")
		var u struct {
			Creds struct{ Token string } `json:"creds"`
		}
		s.OK(old, "/api/users/refresh_token", M{"username": "bob"}, &u)
		require.NotEqual(t, old, u.Creds.Token)
		requireUUID4(t, u.Creds.Token)
		apitest.RequireBody(t, s.Post(old, "/api/users/get_my_user", nil), http.StatusForbidden, apitest.BodyInvalidToken)
		me := s.OK(u.Creds.Token, "/api/users/get_my_user", nil, nil).Object(t)
		require.Equal(t, "bob", me["username"])

		// An admin refreshes someone else's token.
		s.OK(apitest.AdminToken, "/api/users/refresh_token", M{"username": "bob"}, &u)
		apitest.RequireBody(t, s.Post(me["creds"].(map[string]any)["token"].(string), "/api/users/list", nil), http.StatusForbidden, apitest.BodyInvalidToken)
		s.OK(u.Creds.Token, "/api/users/list", nil, nil)
	})
}

func TestUserLifecycle(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		token := s.CreateUser("carol", "user")
		t.Run("names are unique ignoring case", func(t *testing.T) {
			for _, name := range []string{"carol", "CAROL", "Carol"} {
				apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/create", M{"username": name, "global_role": "user"}), "resource_exists")
			}
			got := s.OK(apitest.AdminToken, "/api/users/get_user", M{"username": "CaRoL"}, nil).Object(t)
			require.Equal(t, "carol", got["username"])
		})
		t.Run("invalid input", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				body  M
				field string
			}{
				{"space in name", M{"username": "a b", "global_role": "user"}, "username"},
				{"empty name", M{"username": "", "global_role": "user"}, "username"},
				{"61 chars", M{"username": strings.Repeat("a", 61), "global_role": "user"}, "username"},
				{"bad role", M{"username": "dave", "global_role": "root"}, "global_role"},
			} {
				d := apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/create", tc.body), "error")
				require.Equal(t, []string{tc.field}, d.Fields, tc.name)
			}
			s.OK(apitest.AdminToken, "/api/users/create", M{"username": strings.Repeat("a", 60), "global_role": "user"}, nil)
		})
		t.Run("update and deactivate", func(t *testing.T) {
			u := s.OK(apitest.AdminToken, "/api/users/update", M{"username": "carol", "global_role": "admin", "email": "c@example.com"}, nil).Object(t)
			require.Equal(t, "admin", u["global_role"])
			require.Equal(t, "c@example.com", u["email"])
			s.OK(token, "/api/users/create", M{"username": "by-carol", "global_role": "user"}, nil)
			s.OK(apitest.AdminToken, "/api/users/update", M{"username": "carol", "global_role": "user", "active": false}, nil)
			apitest.RequireBody(t, s.Post(token, "/api/users/get_my_user", nil), http.StatusForbidden, apitest.BodyInvalidToken)
			s.OK(apitest.AdminToken, "/api/users/update", M{"username": "carol", "global_role": "user", "active": true}, nil)
			s.OK(token, "/api/users/get_my_user", nil, nil)
			apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/update", M{"username": "admin", "global_role": "user"}), "error")
		})
		t.Run("delete frees the name and kills the token", func(t *testing.T) {
			s.OK(apitest.AdminToken, "/api/users/delete", M{"users": []string{"carol"}}, nil)
			apitest.RequireBody(t, s.Post(token, "/api/users/get_my_user", nil), http.StatusForbidden, apitest.BodyInvalidToken)
			apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/get_user", M{"username": "carol"}), "resource_not_exists")
			s.OK(apitest.AdminToken, "/api/users/create", M{"username": "carol", "global_role": "user"}, nil)
		})
		t.Run("the admin user cannot be deleted", func(t *testing.T) {
			apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/delete", M{"users": []string{"admin"}}), "error")
			s.OK(apitest.AdminToken, "/api/users/get_my_user", nil, nil)
		})
	})
}

func TestPublicKeys(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, bob := s.CreateUser("alice", "user"), s.CreateUser("bob", "user")
		k := s.OK(alice, "/api/users/public_keys/add", M{"key": testPublicKey + " alice@laptop"}, nil).Object(t)
		requireUUID4(t, k["id"])
		requireAwareTime(t, k["added_at"])
		require.Equal(t, "alice@laptop", k["name"], "the name defaults to the key's comment")
		require.Equal(t, "ssh-ed25519", k["type"])
		require.True(t, strings.HasPrefix(k["fingerprint"].(string), "SHA256:"))

		apitest.Require400(t, s.Post(alice, "/api/users/public_keys/add", M{"key": testPublicKey, "name": "again"}), "resource_exists")
		d := apitest.Require400(t, s.Post(alice, "/api/users/public_keys/add", M{"key": "not a key"}), "error")
		require.Equal(t, []string{"key"}, d.Fields)
		named := s.OK(bob, "/api/users/public_keys/add", M{"key": otherPublicKey, "name": "work"}, nil).Object(t)
		require.Equal(t, "work", named["name"], "the name given wins over the comment")

		// Users see and delete only their own keys.
		require.Len(t, s.OK(alice, "/api/users/public_keys/list", nil, nil).List(t), 1)
		s.OK(bob, "/api/users/public_keys/delete", M{"ids": []any{k["id"]}}, nil)
		require.Len(t, s.OK(alice, "/api/users/public_keys/list", nil, nil).List(t), 1)
		s.OK(alice, "/api/users/public_keys/delete", M{"ids": []any{k["id"]}}, nil)
		require.Empty(t, s.OK(alice, "/api/users/public_keys/list", nil, nil).List(t))
		apitest.Require400(t, s.Post(alice, "/api/users/public_keys/delete", M{"ids": []string{"nope"}}), "error")
	})
}

func TestAdminRegistersKeyForAnotherUser(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, bob := s.CreateUser("alice", "user"), s.CreateUser("bob", "user")
		s.OK(apitest.AdminToken, "/api/users/public_keys/add", M{"key": testPublicKey, "username": "alice"}, nil)
		require.Len(t, s.OK(alice, "/api/users/public_keys/list", nil, nil).List(t), 1)
		require.Empty(t, s.OK(apitest.AdminToken, "/api/users/public_keys/list", nil, nil).List(t))

		r := s.Post(bob, "/api/users/public_keys/add", M{"key": testPublicKey, "username": "alice"})
		require.Equal(t, 403, r.Status, "only global admins register keys for others")
		s.OK(bob, "/api/users/public_keys/add", M{"key": otherPublicKey, "username": "BOB"}, nil)
		apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/public_keys/add", M{"key": testPublicKey, "username": "nobody"}), "resource_not_exists")
	})
}

// TestPublicKeyBelongsToOneUser: a key another user registered is refused
// (the console would no longer know whose it is, and its owner could not
// sign in); the owner's registration stays as it was.
func TestPublicKeyBelongsToOneUser(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, mallory := s.CreateUser("alice", "user"), s.CreateUser("mallory", "user")
		s.OK(alice, "/api/users/public_keys/add", M{"key": testPublicKey + " alice@laptop"}, nil)
		d := apitest.Require400(t, s.Post(mallory, "/api/users/public_keys/add", M{"key": testPublicKey + " mine"}), "")
		require.Contains(t, d.Msg, "another")
		apitest.Require400(t, s.Post(apitest.AdminToken, "/api/users/public_keys/add", M{"key": testPublicKey, "username": "mallory"}), "")
		require.Empty(t, s.OK(mallory, "/api/users/public_keys/list", nil, nil).List(t))
		require.Len(t, s.OK(alice, "/api/users/public_keys/list", nil, nil).List(t), 1)

		// Once its owner lets the key go (or is deleted), another may take it.
		s.OK(apitest.AdminToken, "/api/users/delete", M{"users": []string{"alice"}}, nil)
		s.OK(mallory, "/api/users/public_keys/add", M{"key": testPublicKey}, nil)
	})
}
