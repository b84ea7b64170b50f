package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/schemas"
)

// TestErrorShapes pins the exact error bodies the official client parses
// (reference §1.3).
func TestErrorShapes(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tests := []struct {
			name   string
			req    apitest.Request
			status int
			body   string
		}{
			{"missing header", apitest.Request{Path: "/api/users/list"}, 403, apitest.BodyNotAuthenticated},
			{"not a bearer header", apitest.Request{Path: "/api/users/list", Header: map[string]string{"Authorization": "Basic YWRtaW4="}}, 403, apitest.BodyNotAuthenticated},
			{"empty bearer", apitest.Request{Path: "/api/users/list", Header: map[string]string{"Authorization": "Bearer "}}, 403, apitest.BodyNotAuthenticated},
			{"bad token", apitest.Request{Path: "/api/users/list", Token: "nope"}, 403, apitest.BodyInvalidToken},
			{"lowercase bearer scheme works", apitest.Request{Path: "/api/server/get_info", Header: map[string]string{"Authorization": "bearer " + apitest.AdminToken}}, 200, `{"server_version":"0.21.2"}`},
			{"access denied", apitest.Request{Path: "/api/users/create", Token: s.CreateUser("u1", "user"), Body: M{"username": "x", "global_role": "user"}}, 403, apitest.BodyAccessDenied},
			{"missing project", apitest.Request{Path: "/api/projects/nope/get", Token: apitest.AdminToken}, 404, apitest.BodyProjectNotFound},
			{"missing project in a secrets path", apitest.Request{Path: "/api/project/nope/secrets/list", Token: apitest.AdminToken}, 404, apitest.BodyProjectNotFound},
			{"unknown api path", apitest.Request{Path: "/api/nope", Token: apitest.AdminToken}, 404, apitest.BodyRouteNotFound},
			{"unknown api path without token", apitest.Request{Path: "/api/users/nope"}, 404, apitest.BodyRouteNotFound},
			{"wrong method", apitest.Request{Method: http.MethodGet, Path: "/api/users/list", Token: apitest.AdminToken}, 405, `{"detail":"Method Not Allowed"}`},
			{"healthcheck", apitest.Request{Method: http.MethodGet, Path: "/healthcheck"}, 200, `{"status":"running"}`},
			{"list_providers is an empty list", apitest.Request{Path: "/api/auth/list_providers"}, 200, `[]`},
			{"routes without a result answer null", apitest.Request{Path: "/api/users/public_keys/delete", Token: apitest.AdminToken, Body: M{"ids": []string{}}}, 200, `null`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(tc.req)
				apitest.RequireBody(t, r, tc.status, tc.body)
				require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			})
		}
	})
}

// TestResourceNotExists: a missing thing inside the API is 400
// resource_not_exists, never 404 (the CLI relies on it).
func TestResourceNotExists(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		tests := []struct {
			name, path string
			body       any
		}{
			{"get_user", "/api/users/get_user", M{"username": "ghost"}},
			{"update user", "/api/users/update", M{"username": "ghost", "global_role": "user"}},
			{"refresh_token", "/api/users/refresh_token", M{"username": "ghost"}},
			{"refresh_ssh_key", "/api/users/refresh_ssh_key", M{"username": "ghost"}},
			{"delete user", "/api/users/delete", M{"users": []string{"ghost"}}},
			{"add a missing member", "/api/projects/main/add_members", M{"members": []M{{"username": "ghost", "project_role": "user"}}}},
			{"set a missing member", "/api/projects/main/set_members", M{"members": []M{{"username": "admin", "project_role": "admin"}, {"username": "ghost", "project_role": "user"}}}},
			{"remove a missing member", "/api/projects/main/remove_members", M{"usernames": []string{"ghost"}}},
			{"get secret", "/api/project/main/secrets/get", M{"name": "ghost"}},
			{"delete secret", "/api/project/main/secrets/delete", M{"secrets_names": []string{"ghost"}}},
			{"delete project", "/api/projects/delete", M{"projects_names": []string{"ghost"}}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				apitest.Require400(t, s.Post(apitest.AdminToken, tc.path, tc.body), "resource_not_exists")
			})
		}
	})
}

// TestClientVersion applies the X-API-VERSION rule of reference §1.2 with
// the server at 0.21.2.
func TestClientVersion(t *testing.T) {
	require.Equal(t, "0.21.2", schemas.CompatibleVersion, "the cases below assume a 0.21.2 server")
	each(t, func(t *testing.T, s *apitest.Server) {
		incompatible := func(v string) string {
			return `{"detail":[{"msg":"The client/CLI version (` + v + `) is incompatible with the server version (0.21.2).","code":"error"}]}`
		}
		tests := []struct {
			name, version string
			status        int
			body          string // exact body when not 200
		}{
			{"absent", "", 200, ""},
			{"latest", "latest", 200, ""},
			{"dev build", "0.0.0.dev", 200, ""},
			{"dev zero", "0.0.0", 200, ""},
			{"same", "0.21.2", 200, ""},
			{"older minor", "0.20.14", 200, ""},
			{"newer patch", "0.21.9", 200, ""},
			{"newer minor", "0.22.0", 400, incompatible("0.22.0")},
			{"newer major", "1.0.0", 400, incompatible("1.0.0")},
			{"garbage", "garbage", 400, `{"detail":[{"msg":"Invalid version: 'garbage'","code":null}]}`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/api/server/get_info", "/api/users/get_my_user"} {
					r := s.Do(apitest.Request{Path: path, Token: apitest.AdminToken, Header: map[string]string{"X-API-VERSION": tc.version}})
					if tc.status == http.StatusOK {
						require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
						continue
					}
					apitest.RequireBody(t, r, tc.status, tc.body)
				}
			})
		}
		t.Run("not applied outside /api", func(t *testing.T) {
			r := s.Do(apitest.Request{Method: http.MethodGet, Path: "/healthcheck", Header: map[string]string{"X-API-VERSION": "9.0.0"}})
			require.Equal(t, http.StatusOK, r.Status)
		})
	})
}

// TestRequestBodies: optional bodies may be absent, unknown fields are
// ignored, undecodable bodies are FastAPI's 422.
func TestRequestBodies(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		s.SetSecret(apitest.AdminToken, "main", "s", "v")
		for _, path := range []string{
			"/api/server/get_info", "/api/auth/list_providers", "/api/users/list", "/api/users/get_my_user",
			"/api/users/public_keys/list", "/api/projects/list", "/api/projects/main/get",
			"/api/projects/main/update", "/api/project/main/secrets/list",
		} {
			t.Run("no body "+path, func(t *testing.T) {
				r := s.Do(apitest.Request{Path: path, Token: apitest.AdminToken})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				for _, body := range []string{"", "null", "{}", " \n"} {
					r := s.Do(apitest.Request{Path: path, Token: apitest.AdminToken, Body: body})
					require.Equal(t, http.StatusOK, r.Status, "body %q: %s", body, r.Body)
				}
			})
		}
		t.Run("unknown fields are ignored", func(t *testing.T) {
			r := s.Post(apitest.AdminToken, "/api/users/create", M{"username": "extra", "global_role": "user", "unknown": []int{1}, "projects_quota": 3})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			r = s.Post(apitest.AdminToken, "/api/users/list", M{"return_total_count": false, "future_field": M{"a": 1}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		})
		tests := []struct {
			name, path, body string
		}{
			{"malformed JSON", "/api/users/create", `{"username":`},
			{"not an object", "/api/users/list", `[1,2]`},
			{"wrong field type", "/api/users/create", `{"username": 5, "global_role": "user"}`},
			{"wrong nested type", "/api/projects/main/add_members", `{"members": [{"username": ["a"], "project_role": "user"}]}`},
			{"missing required body", "/api/users/create", ``},
			{"missing required body on get_user", "/api/users/get_user", ``},
			{"missing required body on secrets", "/api/project/main/secrets/get", ``},
		}
		for _, tc := range tests {
			t.Run("422 "+tc.name, func(t *testing.T) {
				req := apitest.Request{Path: tc.path, Token: apitest.AdminToken}
				if tc.body != "" {
					req.Body = tc.body
				}
				r := s.Do(req)
				require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
				detail, ok := r.Object(t)["detail"].([]any)
				require.True(t, ok, "detail must be a list: %s", r.Body)
				require.NotEmpty(t, detail)
				for _, d := range detail {
					entry, ok := d.(map[string]any)
					require.True(t, ok)
					for _, k := range []string{"type", "loc", "msg", "input"} {
						require.Contains(t, entry, k, "%s", r.Body)
					}
					loc, ok := entry["loc"].([]any)
					require.True(t, ok)
					require.Equal(t, "body", loc[0])
				}
			})
		}
	})
}
