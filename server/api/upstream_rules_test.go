package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
)

// The tests in this file pin upstream's behaviour in corners where an
// implementation easily drifts from it.

// users/delete refuses the admin user whatever the case of its name.
func TestUpstreamAdminDeletableByCase(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		r := s.Post(apitest.AdminToken, "/api/users/delete", M{"users": []string{"ADMIN"}})
		apitest.Require400(t, r, "error")
		s.OK(apitest.AdminToken, "/api/users/get_my_user", nil, nil)
	})
}

// Upstream lets a manager call set_members as long as the set of admins is
// unchanged.
func TestUpstreamManagerSetMembers(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tm := newTeam(t, s, false)
		s.CreateUserNoToken("dan")
		r := s.Post(tm.mgr, "/api/projects/p/set_members", members("owner", "admin", "mgr", "manager", "usr", "user", "dan", "user"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, map[string]string{"owner": "admin", "mgr": "manager", "usr": "user", "dan": "user"}, s.Roles("p"))
	})
}

// Upstream answers 400 "Cannot add same user multiple times" when a member
// list names a user twice.
func TestUpstreamDuplicateMembers(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		s.CreateUserNoToken("dan")
		for _, route := range []string{"set_members", "add_members"} {
			r := s.Post(apitest.AdminToken, "/api/projects/main/"+route, members("admin", "admin", "dan", "admin", "dan", "user"))
			apitest.Require400(t, r, "error")
		}
	})
}

// Upstream's remove_members lets only global admins remove project admins
// (other than by leaving).
func TestUpstreamProjectAdminRemovesAdmin(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tm := newTeam(t, s, false)
		s.AddMember(tm.owner, "p", "mgr", "admin")
		r := s.Post(tm.owner, "/api/projects/p/remove_members", M{"usernames": []string{"mgr"}})
		apitest.RequireBody(t, r, http.StatusForbidden, apitest.BodyAccessDenied)
	})
}

// A token sealed with a key that is no longer configured does not log in
// (reference §8), rather than failing later with a 500.
func TestUpstreamUndecryptableToken(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		rotated := s.Rebuild(apitest.WithSealer(aesKeyring(t, "k2", 9))) // k1 is gone
		r := rotated.Post(apitest.AdminToken, "/api/users/get_my_user", nil)
		apitest.RequireBody(t, r, http.StatusForbidden, apitest.BodyInvalidToken)
	}, apitest.WithSealer(aesKeyring(t, "k1", 1)))
}
