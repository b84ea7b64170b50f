package apitest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// M is a JSON object literal.
type M = map[string]any

// CreateUser creates a user as the admin and returns their token. The token
// is read back through users/get_user, which also generates the user's SSH
// key pair (RSA: not free, so create only the users a test needs).
func (s *Server) CreateUser(name, globalRole string) string {
	s.t.Helper()
	s.OK(AdminToken, "/api/users/create", M{"username": name, "global_role": globalRole}, nil)
	var u struct {
		Creds struct {
			Token string `json:"token"`
		} `json:"creds"`
	}
	s.OK(AdminToken, "/api/users/get_user", M{"username": name}, &u)
	require.NotEmpty(s.t, u.Creds.Token)
	return u.Creds.Token
}

// CreateUserNoToken creates a user that never calls the API itself.
func (s *Server) CreateUserNoToken(name string) {
	s.t.Helper()
	s.OK(AdminToken, "/api/users/create", M{"username": name, "global_role": "user"}, nil)
}

// CreateProject creates a project as token (who becomes its admin).
func (s *Server) CreateProject(token, name string, public bool) {
	s.t.Helper()
	s.OK(token, "/api/projects/create", M{"project_name": name, "is_public": public}, nil)
}

// AddMember adds user to project with role, acting as token.
func (s *Server) AddMember(token, project, user, role string) {
	s.t.Helper()
	s.OK(token, "/api/projects/"+project+"/add_members",
		M{"members": []M{{"username": user, "project_role": role}}}, nil)
}

// SetSecret creates or updates a secret, acting as token.
func (s *Server) SetSecret(token, project, name, value string) {
	s.t.Helper()
	s.OK(token, "/api/project/"+project+"/secrets/create_or_update", M{"name": name, "value": value}, nil)
}

// Roles returns the project's members as username → project role.
func (s *Server) Roles(project string) map[string]string {
	s.t.Helper()
	var p struct {
		Members []struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			ProjectRole string `json:"project_role"`
		} `json:"members"`
	}
	s.OK(AdminToken, "/api/projects/"+project+"/get", nil, &p)
	out := map[string]string{}
	for _, m := range p.Members {
		out[m.User.Username] = m.ProjectRole
	}
	return out
}

// Detail is one entry of a 400 answer.
type Detail struct {
	Msg    string   `json:"msg"`
	Code   *string  `json:"code"`
	Fields []string `json:"fields"`
}

// Require400 checks a business error: status 400 and a body of exactly
// {"detail": [{"msg", "code"[, "fields"]}]} with one entry of the given
// code, or of any code when code is "" (the official client passes the keys
// on as constructor arguments, so no other key may appear). It returns the
// entry.
func Require400(t testing.TB, r *Response, code string) Detail {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.Status, "body: %s", r.Body)
	var raw struct {
		Detail []map[string]json.RawMessage `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &raw), "body: %s", r.Body)
	require.Len(t, raw.Detail, 1, "body: %s", r.Body)
	for k := range raw.Detail[0] {
		require.Contains(t, []string{"msg", "code", "fields"}, k, "unexpected key in %s", r.Body)
	}
	require.Contains(t, raw.Detail[0], "msg")
	require.Contains(t, raw.Detail[0], "code")
	var body struct {
		Detail []Detail `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &body))
	d := body.Detail[0]
	require.NotNil(t, d.Code, "body: %s", r.Body)
	if code != "" {
		require.Equal(t, code, *d.Code, "body: %s", r.Body)
	}
	require.NotEmpty(t, d.Msg)
	return d
}

// Exact bodies of the auth and routing errors (reference §1.3).
const (
	BodyNotAuthenticated = `{"detail":"Not authenticated"}`
	BodyInvalidToken     = `{"detail":{"msg":"Invalid token","code":null}}`
	BodyAccessDenied     = `{"detail":{"msg":"Access denied","code":null}}`
	BodyProjectNotFound  = `{"detail":{"msg":"Not found","code":null}}`
	BodyRouteNotFound    = `{"detail":"Not Found"}`
)

// RequireBody checks the status and that the body is JSON equal to want.
func RequireBody(t testing.TB, r *Response, status int, want string) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.JSONEq(t, want, string(r.Body))
}
