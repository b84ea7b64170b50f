package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/config"
)

func TestProjectShape(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice := s.CreateUser("alice", "user")
		p := s.OK(alice, "/api/projects/create", M{"project_name": "Proj-1"}, nil).Object(t)
		for _, k := range []string{"project_id", "project_name", "owner", "created_at", "backends", "members", "is_public"} {
			require.Contains(t, p, k)
		}
		require.NotContains(t, p, "templates_repo", "omitted when null")
		requireUUID4(t, p["project_id"])
		requireAwareTime(t, p["created_at"])
		require.Equal(t, "Proj-1", p["project_name"])
		require.Equal(t, false, p["is_public"])
		require.Equal(t, []any{}, p["backends"])
		owner := p["owner"].(map[string]any)
		require.Equal(t, "alice", owner["username"])
		requireUUID4(t, owner["id"])
		require.Equal(t, map[string]string{"alice": "admin"}, s.Roles("Proj-1"), "the creator becomes admin")
		member := p["members"].([]any)[0].(map[string]any)
		require.Equal(t, M{"can_manage_ssh_fleets": true, "can_manage_secrets": true}, member["permissions"])

		got := s.OK(alice, "/api/projects/proj-1/get", nil, nil).Object(t)
		require.Equal(t, "Proj-1", got["project_name"], "project paths ignore case")

		u := s.OK(alice, "/api/projects/Proj-1/update", M{"is_public": true, "templates_repo": "https://example.com/t.git"}, nil).Object(t)
		require.Equal(t, true, u["is_public"])
		require.Equal(t, "https://example.com/t.git", u["templates_repo"])
		u = s.OK(alice, "/api/projects/Proj-1/update", M{"reset_templates_repo": true}, nil).Object(t)
		require.NotContains(t, u, "templates_repo")
		require.Equal(t, true, u["is_public"], "fields not sent are kept")
	})
}

func TestProjectNames(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		s.CreateProject(apitest.AdminToken, "dup", false)
		for _, name := range []string{"dup", "DUP", "main"} {
			apitest.Require400(t, s.Post(apitest.AdminToken, "/api/projects/create", M{"project_name": name}), "resource_exists")
		}
		for _, name := range []string{"", "a b", "a/b", strings.Repeat("x", 51)} {
			d := apitest.Require400(t, s.Post(apitest.AdminToken, "/api/projects/create", M{"project_name": name}), "error")
			require.Equal(t, []string{"project_name"}, d.Fields, "%q", name)
		}
		s.CreateProject(apitest.AdminToken, strings.Repeat("x", 50), false)

		t.Run("soft delete frees the name", func(t *testing.T) {
			s.OK(apitest.AdminToken, "/api/projects/delete", M{"projects_names": []string{"dup"}}, nil)
			apitest.RequireBody(t, s.Post(apitest.AdminToken, "/api/projects/dup/get", nil), http.StatusNotFound, apitest.BodyProjectNotFound)
			var ps []struct {
				Name string `json:"project_name"`
			}
			s.OK(apitest.AdminToken, "/api/projects/list", nil, &ps)
			for _, p := range ps {
				require.NotContains(t, p.Name, "dup", "deleted projects are not listed")
			}
			s.CreateProject(apitest.AdminToken, "DUP", false)
			require.Equal(t, map[string]string{"admin": "admin"}, s.Roles("dup"), "the new project starts afresh")
		})
	})
}

func TestProjectCreatePermissions(t *testing.T) {
	t.Run("allow_non_admins_create_projects=false", func(t *testing.T) {
		perms := config.DefaultDefaultPermissions
		perms.AllowNonAdminsCreateProjects = false
		each(t, func(t *testing.T, s *apitest.Server) {
			bob := s.CreateUser("bob", "user")
			apitest.RequireBody(t, s.Post(bob, "/api/projects/create", M{"project_name": "b"}), http.StatusForbidden, apitest.BodyAccessDenied)
			me := s.OK(bob, "/api/users/get_my_user", nil, nil).Object(t)
			require.Equal(t, M{"can_create_projects": false}, me["permissions"])
			adm := s.OK(apitest.AdminToken, "/api/users/get_my_user", nil, nil).Object(t)
			require.Equal(t, M{"can_create_projects": true}, adm["permissions"])
			s.CreateProject(apitest.AdminToken, "a", false)
		}, apitest.WithPerms(perms))
	})
	t.Run("quota", func(t *testing.T) {
		each(t, func(t *testing.T, s *apitest.Server) {
			bob := s.CreateUser("bob", "user")
			s.CreateProject(bob, "b1", false)
			s.CreateProject(bob, "b2", false)
			apitest.Require400(t, s.Post(bob, "/api/projects/create", M{"project_name": "b3"}), "error")
			s.OK(bob, "/api/projects/delete", M{"projects_names": []string{"b1"}}, nil)
			s.CreateProject(bob, "b3", false)
			// Joining or being added to projects does not count; admins have no quota.
			s.CreateProject(apitest.AdminToken, "a1", false)
			s.CreateProject(apitest.AdminToken, "a2", false)
			s.CreateProject(apitest.AdminToken, "a3", false)
			s.AddMember(apitest.AdminToken, "a1", "bob", "admin")
			apitest.Require400(t, s.Post(bob, "/api/projects/create", M{"project_name": "b4"}), "error")
		}, apitest.WithQuota(2))
	})
}

func TestProjectDelete(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, bob := s.CreateUser("alice", "user"), s.CreateUser("bob", "user")
		s.CreateProject(alice, "a1", false)
		s.CreateProject(alice, "a2", false)
		s.AddMember(alice, "a1", "bob", "manager")
		apitest.RequireBody(t, s.Post(bob, "/api/projects/delete", M{"projects_names": []string{"a1"}}), http.StatusForbidden, apitest.BodyAccessDenied)
		// All or nothing: one refused name keeps the others.
		apitest.RequireBody(t, s.Post(bob, "/api/projects/delete", M{"projects_names": []string{"a2", "a1"}}), http.StatusForbidden, apitest.BodyAccessDenied)
		apitest.Require400(t, s.Post(alice, "/api/projects/delete", M{"projects_names": []string{"a1", "ghost"}}), "resource_not_exists")
		s.OK(alice, "/api/projects/a1/get", nil, nil)
		s.OK(alice, "/api/projects/delete", M{"projects_names": []string{"a1", "a2"}}, nil)
		require.Empty(t, s.OK(alice, "/api/projects/list", nil, nil).List(t))
	})
}
