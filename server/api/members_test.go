package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
)

// team is a project "p" of owner (admin) with mgr (manager) and usr (user),
// plus an outsider; all are plain users globally.
type team struct {
	*apitest.Server
	owner, mgr, usr, out string
}

func newTeam(t *testing.T, s *apitest.Server, public bool) team {
	t.Helper()
	tm := team{Server: s, owner: s.CreateUser("owner", "user"), mgr: s.CreateUser("mgr", "user"),
		usr: s.CreateUser("usr", "user"), out: s.CreateUser("out", "user")}
	s.CreateProject(tm.owner, "p", public)
	s.AddMember(tm.owner, "p", "mgr", "manager")
	s.AddMember(tm.owner, "p", "usr", "user")
	return tm
}

func members(ms ...string) M {
	var l []M
	for i := 0; i+1 < len(ms); i += 2 {
		l = append(l, M{"username": ms[i], "project_role": ms[i+1]})
	}
	return M{"members": l}
}

func TestMemberRules(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tm := newTeam(t, s, false)
		s.CreateUserNoToken("dan")
		denied := func(r *apitest.Response) {
			t.Helper()
			apitest.RequireBody(t, r, http.StatusForbidden, apitest.BodyAccessDenied)
		}
		t.Run("managers add users and managers but never admins", func(t *testing.T) {
			denied(s.Post(tm.mgr, "/api/projects/p/add_members", members("dan", "admin")))
			denied(s.Post(tm.mgr, "/api/projects/p/set_members", members("owner", "admin", "mgr", "manager", "usr", "user", "dan", "admin")))
			s.OK(tm.mgr, "/api/projects/p/add_members", members("dan", "manager"), nil)
			s.OK(tm.mgr, "/api/projects/p/add_members", members("dan", "user"), nil)
			require.Equal(t, map[string]string{"owner": "admin", "mgr": "manager", "usr": "user", "dan": "user"}, s.Roles("p"))
		})
		t.Run("managers cannot remove admins", func(t *testing.T) {
			denied(s.Post(tm.mgr, "/api/projects/p/remove_members", M{"usernames": []string{"owner"}}))
			denied(s.Post(tm.usr, "/api/projects/p/remove_members", M{"usernames": []string{"dan"}}))
			s.OK(tm.mgr, "/api/projects/p/remove_members", M{"usernames": []string{"dan"}}, nil)
		})
		t.Run("the last admin stays", func(t *testing.T) {
			apitest.Require400(t, s.Post(tm.owner, "/api/projects/p/remove_members", M{"usernames": []string{"owner"}}), "error")
			apitest.Require400(t, s.Post(tm.owner, "/api/projects/p/add_members", members("owner", "user")), "error")
			apitest.Require400(t, s.Post(tm.owner, "/api/projects/p/set_members", members("mgr", "manager", "usr", "user")), "error")
			apitest.Require400(t, s.Post(apitest.AdminToken, "/api/projects/p/set_members", members("owner", "manager")), "error")
			require.Equal(t, map[string]string{"owner": "admin", "mgr": "manager", "usr": "user"}, s.Roles("p"), "refused changes leave nothing behind")
		})
		t.Run("an admin hands over and leaves", func(t *testing.T) {
			s.OK(tm.owner, "/api/projects/p/add_members", members("mgr", "admin"), nil)
			s.OK(tm.owner, "/api/projects/p/remove_members", M{"usernames": []string{"owner"}}, nil)
			denied(s.Post(tm.owner, "/api/projects/p/get", nil))
			s.OK(tm.mgr, "/api/projects/p/add_members", members("owner", "admin"), nil)
		})
		t.Run("a user leaves", func(t *testing.T) {
			s.OK(tm.usr, "/api/projects/p/remove_members", M{"usernames": []string{"usr"}}, nil)
			denied(s.Post(tm.usr, "/api/projects/p/get", nil))
			require.NotContains(t, s.Roles("p"), "usr")
		})
		t.Run("invalid input", func(t *testing.T) {
			d := apitest.Require400(t, s.Post(tm.owner, "/api/projects/p/add_members", members("usr", "owner")), "error")
			require.Equal(t, []string{"project_role"}, d.Fields)
			apitest.Require400(t, s.Post(tm.owner, "/api/projects/p/remove_members", M{"usernames": []string{"out"}}), "resource_not_exists")
		})
		t.Run("set_members replaces the list in order; members may be named by email", func(t *testing.T) {
			s.OK(apitest.AdminToken, "/api/users/update", M{"username": "out", "global_role": "user", "email": "out@example.com"}, nil)
			var p struct {
				Members []struct {
					User        struct{ Username string } `json:"user"`
					ProjectRole string                    `json:"project_role"`
				} `json:"members"`
			}
			s.OK(tm.owner, "/api/projects/p/set_members", members("out@example.com", "manager", "owner", "admin"), &p)
			require.Len(t, p.Members, 2)
			require.Equal(t, "out", p.Members[0].User.Username)
			require.Equal(t, "manager", p.Members[0].ProjectRole)
			require.Equal(t, "owner", p.Members[1].User.Username)
			denied(s.Post(tm.mgr, "/api/projects/p/get", nil))
		})
		t.Run("deleted users drop out of member lists", func(t *testing.T) {
			s.OK(apitest.AdminToken, "/api/users/delete", M{"users": []string{"out"}}, nil)
			require.Equal(t, map[string]string{"owner": "admin"}, s.Roles("p"))
		})
	})
}

func TestPublicProjectJoin(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tm := newTeam(t, s, true)
		denied := func(r *apitest.Response) {
			t.Helper()
			apitest.RequireBody(t, r, http.StatusForbidden, apitest.BodyAccessDenied)
		}
		s.OK(tm.out, "/api/projects/p/get", nil, nil)
		denied(s.Post(tm.out, "/api/projects/p/add_members", members("out", "manager")))
		denied(s.Post(tm.out, "/api/projects/p/add_members", members("out", "admin")))
		denied(s.Post(tm.out, "/api/projects/p/add_members", members("usr", "user")))
		denied(s.Post(tm.out, "/api/projects/p/set_members", members("out", "user")))
		denied(s.Post(tm.out, "/api/project/p/secrets/list", nil))
		denied(s.Post(tm.out, "/api/projects/p/remove_members", M{"usernames": []string{"out"}}))

		p := s.OK(tm.out, "/api/projects/p/add_members", members("out", "user"), nil).Object(t)
		require.Len(t, p["members"], 4, "the answer is the project with its members")
		require.Equal(t, "user", s.Roles("p")["out"])
		s.OK(tm.out, "/api/projects/p/remove_members", M{"usernames": []string{"out"}}, nil)
		require.NotContains(t, s.Roles("p"), "out")

		s.OK(tm.owner, "/api/projects/p/update", M{"is_public": false}, nil)
		denied(s.Post(tm.out, "/api/projects/p/add_members", members("out", "user")))
		denied(s.Post(tm.out, "/api/projects/p/get", nil))
	})
}

// TestManagersCannotDemoteAdmins: only admins change who is an admin; a
// manager who could demote an admin could then remove them.
func TestManagersCannotDemoteAdmins(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tm := newTeam(t, s, false)
		s.CreateUserNoToken("adm2")
		s.AddMember(tm.owner, "p", "adm2", "admin")
		denied := func(r *apitest.Response) {
			t.Helper()
			apitest.RequireBody(t, r, http.StatusForbidden, apitest.BodyAccessDenied)
		}
		before := s.Roles("p")
		denied(s.Post(tm.mgr, "/api/projects/p/add_members", members("adm2", "user")))
		denied(s.Post(tm.mgr, "/api/projects/p/add_members", members("adm2", "manager")))
		denied(s.Post(tm.mgr, "/api/projects/p/set_members", members("owner", "admin", "adm2", "user", "mgr", "manager", "usr", "user")))
		denied(s.Post(tm.mgr, "/api/projects/p/set_members", members("owner", "admin", "adm2", "manager", "mgr", "manager", "usr", "user")))
		require.Equal(t, before, s.Roles("p"), "refused changes leave the roles as they were")
		denied(s.Post(tm.mgr, "/api/projects/p/remove_members", M{"usernames": []string{"adm2"}}))
		require.Equal(t, before, s.Roles("p"))

		s.OK(tm.mgr, "/api/projects/p/add_members", members("usr", "manager"), nil)
		s.OK(tm.mgr, "/api/projects/p/set_members", members("owner", "admin", "adm2", "admin", "mgr", "manager", "usr", "user"), nil)
		s.OK(tm.owner, "/api/projects/p/add_members", members("adm2", "user"), nil)
		require.Equal(t, map[string]string{"owner": "admin", "adm2": "user", "mgr": "manager", "usr": "user"}, s.Roles("p"), "admins demote admins")
	})
}
