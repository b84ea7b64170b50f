package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/config"
)

// codes is the expected status per actor, in column order:
//
//	no token, bad token, outsider, project user, project manager, project admin, global admin
//
// The world (see newWorld): plain users padmin, pmanager, puser and outsider;
// padmin created the private project "p" and the public project "pub" and
// added pmanager (manager), puser and pother (user) to both; "p" has the
// secret s1. The global admin is a member of neither. Users victim, joiner
// and pother never call the API.
type codes [nActors]int

const (
	none = iota
	bad
	outsider
	user
	manager
	padmin
	admin
	nActors
)

// known marks a cell where this server knowingly differs from upstream; it is
// not asserted here but in known_divergences_test.go.
const known = -1

// The common guards as rows of codes (reference §1.5).
var (
	anyone      = codes{200, 200, 200, 200, 200, 200, 200}
	authed      = codes{403, 403, 200, 200, 200, 200, 200}
	globalAdmin = codes{403, 403, 403, 403, 403, 403, 200}
	member      = codes{403, 403, 403, 200, 200, 200, 200}
	managers    = codes{403, 403, 403, 403, 200, 200, 200}
	projAdmins  = codes{403, 403, 403, 403, 403, 200, 200}
	// selfOrAdmin applied to another user: hidden from non-admins (400 resource_not_exists, never 403).
	selfOrAdmin = codes{403, 403, 400, 400, 400, 400, 200}
	// missingProject: the {project_name} path is resolved before the role check.
	missingProject = codes{403, 403, 404, 404, 404, 404, 404}
)

// isolation says how much of the world a row may change.
type isolation int

const (
	shared isolation = iota // read-only or harmless: the dialect's one shared world
	own                     // changes the world for later rows: a world of its own
	fresh                   // a success changes what the next actor sees: a new world after each 200
)

type matrixRow struct {
	name   string // the rule the row expresses
	method string // POST when empty
	path   string
	body   string // JSON; {{self}} is the actor's username, {{key}} an SSH public key of the actor's own; "" = no body
	want   codes
	iso    isolation
	perms  *config.DefaultPermissions // default_permissions for this row; nil = upstream defaults
}

var managersManageSecrets = &config.DefaultPermissions{AllowNonAdminsCreateProjects: true, AllowNonAdminsManageSSHFleets: true, AllowManagersManageSecrets: true}
var noUserProjects = &config.DefaultPermissions{AllowNonAdminsManageSSHFleets: true}

var matrix = []matrixRow{
	// Server and auth: no guard at all, a bad token is ignored.
	{name: "healthcheck is open", method: http.MethodGet, path: "/healthcheck", want: anyone},
	{name: "server/get_info is open", path: "/api/server/get_info", want: anyone},
	{name: "auth/list_providers is open", path: "/api/auth/list_providers", want: anyone},

	// Users.
	{name: "users/list: any user", path: "/api/users/list", want: authed},
	{name: "users/get_my_user: any user", path: "/api/users/get_my_user", want: authed},
	{name: "events/list: any user (each sees what they may)", path: "/api/events/list", want: authed},
	{name: "users/get_user: anyone may read themselves", path: "/api/users/get_user", body: `{"username":"{{self}}"}`, want: authed},
	{name: "users/get_user: others are hidden from non-admins", path: "/api/users/get_user", body: `{"username":"victim"}`, want: selfOrAdmin},
	{name: "users/create: global admin", path: "/api/users/create", body: `{"username":"new-{{self}}","global_role":"user"}`, want: globalAdmin},
	{name: "users/update: global admin", path: "/api/users/update", body: `{"username":"victim","global_role":"user"}`, want: globalAdmin},
	{name: "users/refresh_token: own token", path: "/api/users/refresh_token", body: `{"username":"{{self}}"}`, want: authed, iso: own},
	{name: "users/refresh_token: others only by an admin", path: "/api/users/refresh_token", body: `{"username":"victim"}`, want: selfOrAdmin},
	{name: "users/refresh_ssh_key: own key", path: "/api/users/refresh_ssh_key", body: `{"username":"{{self}}"}`, want: authed},
	{name: "users/refresh_ssh_key: others only by an admin", path: "/api/users/refresh_ssh_key", body: `{"username":"victim"}`, want: selfOrAdmin},
	{name: "users/delete: global admin", path: "/api/users/delete", body: `{"users":["victim"]}`, want: globalAdmin, iso: own},
	{name: "users/public_keys/list: any user", path: "/api/users/public_keys/list", want: authed},
	{name: "users/public_keys/add: any user, for themselves", path: "/api/users/public_keys/add", body: `{"key":"{{key}} {{self}}"}`, want: authed},
	{name: "users/public_keys/delete: any user, own keys", path: "/api/users/public_keys/delete", body: `{"ids":["9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"]}`, want: authed},

	// Projects.
	{name: "projects/list: any user", path: "/api/projects/list", want: authed},
	{name: "projects/create: any user by default", path: "/api/projects/create", body: `{"project_name":"new-{{self}}"}`, want: authed},
	{name: "projects/create: global admin when allow_non_admins_create_projects is false", path: "/api/projects/create", body: `{"project_name":"admins-{{self}}"}`, want: globalAdmin, perms: noUserProjects},
	{name: "projects/delete: project admin or global admin", path: "/api/projects/delete", body: `{"projects_names":["p"]}`, want: projAdmins, iso: fresh},
	{name: "projects/delete: a missing project in the body is resource_not_exists", path: "/api/projects/delete", body: `{"projects_names":["nope"]}`, want: codes{403, 403, 400, 400, 400, 400, 400}},
	{name: "projects/{p}/get: members", path: "/api/projects/p/get", want: member},
	{name: "projects/{p}/get: anyone on a public project", path: "/api/projects/pub/get", want: authed},
	{name: "projects/{p}/get: missing project is 404", path: "/api/projects/nope/get", want: missingProject},
	{name: "projects/{p}/update: project admin", path: "/api/projects/p/update", body: `{"is_public":false}`, want: projAdmins},
	{name: "projects/{p}/update: missing project is 404", path: "/api/projects/nope/update", body: `{}`, want: missingProject},
	{name: "projects/{p}/set_members: managers, who must keep the admins as they are",
		path: "/api/projects/p/set_members",
		body: `{"members":[{"username":"padmin","project_role":"admin"},{"username":"pmanager","project_role":"manager"},{"username":"puser","project_role":"user"},{"username":"pother","project_role":"user"}]}`,
		want: codes{403, 403, 403, 403, known, 200, 200}}, // pmanager: upstream 200, here 403 (TestKnownBugManagerSetMembers)
	{name: "projects/{p}/add_members: managers", path: "/api/projects/p/add_members", body: `{"members":[{"username":"joiner","project_role":"user"}]}`, want: managers},
	{name: "projects/{p}/add_members: on a public project non-managers may add only themselves", path: "/api/projects/pub/add_members", body: `{"members":[{"username":"joiner","project_role":"user"}]}`, want: managers},
	{name: "projects/{p}/add_members: anyone joins a public project as user; the last admin cannot step down",
		path: "/api/projects/pub/add_members", body: `{"members":[{"username":"{{self}}","project_role":"user"}]}`,
		want: codes{403, 403, 200, 200, 200, 400, 200}, iso: own},
	{name: "projects/{p}/add_members: nobody joins a private project", path: "/api/projects/p/add_members", body: `{"members":[{"username":"{{self}}","project_role":"user"}]}`, want: codes{403, 403, 403, 403, 200, 400, 200}, iso: own},
	{name: "projects/{p}/remove_members: members may leave, except the last admin; non-members are not members",
		path: "/api/projects/p/remove_members", body: `{"usernames":["{{self}}"]}`,
		want: codes{403, 403, 403, 200, 200, 400, 400}, iso: own},
	{name: "projects/{p}/remove_members: managers remove others", path: "/api/projects/p/remove_members", body: `{"usernames":["pother"]}`, want: managers, iso: fresh},
	{name: "projects/{p}/remove_members: managers cannot remove admins, nobody removes the last one", path: "/api/projects/p/remove_members", body: `{"usernames":["padmin"]}`, want: codes{403, 403, 403, 403, 403, 400, 400}},

	// Secrets: project admins and global admins; managers only when allowed.
	{name: "secrets/list: project admin", path: "/api/project/p/secrets/list", want: projAdmins},
	{name: "secrets/get: project admin", path: "/api/project/p/secrets/get", body: `{"name":"s1"}`, want: projAdmins},
	{name: "secrets/create_or_update: project admin", path: "/api/project/p/secrets/create_or_update", body: `{"name":"s1","value":"v1"}`, want: projAdmins},
	{name: "secrets/delete: project admin", path: "/api/project/p/secrets/delete", body: `{"secrets_names":["s1"]}`, want: projAdmins, iso: fresh},
	{name: "secrets/list: managers when allow_managers_manage_secrets", path: "/api/project/p/secrets/list", want: managers, perms: managersManageSecrets},
	{name: "secrets/get: managers when allow_managers_manage_secrets", path: "/api/project/p/secrets/get", body: `{"name":"s1"}`, want: managers, perms: managersManageSecrets},
	{name: "secrets/list: not even a public project opens secrets", path: "/api/project/pub/secrets/list", want: projAdmins},
	{name: "secrets/get: a missing secret is resource_not_exists", path: "/api/project/p/secrets/get", body: `{"name":"missing"}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "secrets: missing project is 404", path: "/api/project/nope/secrets/list", want: missingProject},

	// Runs, fleets, repos and files: project members; the routes that
	// change the project's work add rows here as they land.
	{name: "runs/list: any user, their projects' runs", path: "/api/runs/list", body: `{}`, want: authed},
	{name: "runs/get: members", path: "/api/project/p/runs/get", body: `{"run_name":"nope"}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "runs/get: not even a public project opens runs to non-members", path: "/api/project/pub/runs/get", body: `{"run_name":"nope"}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "runs/stop: members", path: "/api/project/p/runs/stop", body: `{"runs_names":["nope"],"abort":false}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "gpus/list: members", path: "/api/project/p/gpus/list", body: `{"run_spec":{"configuration":{"type":"task","commands":[":"],"image":"scratch"}},"group_by":["backend"]}`, want: member},
	{name: "gpus/list: not even a public project opens offers to non-members", path: "/api/project/pub/gpus/list", body: `{"run_spec":{"configuration":{"type":"task","commands":[":"],"image":"scratch"}}}`, want: member},
	{name: "metrics/job: members", method: http.MethodGet, path: "/api/project/p/metrics/job/nope?limit=10", want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "metrics/job: not even a public project opens metrics to non-members", method: http.MethodGet, path: "/api/project/pub/metrics/job/nope", want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "runs: missing project is 404", path: "/api/project/nope/runs/get", body: `{"run_name":"x"}`, want: missingProject},
	{name: "fleets/list: members", path: "/api/project/p/fleets/list", want: member},
	{name: "fleets/get: members", path: "/api/project/p/fleets/get", body: `{"name":"nope"}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "repos/list: members", path: "/api/project/p/repos/list", want: member},
	{name: "repos/get: members", path: "/api/project/p/repos/get", body: `{"repo_id":"nope","include_creds":true}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "files/get_archive_by_hash: any user, their own archives", path: "/api/files/get_archive_by_hash", body: `{"hash":"0000"}`, want: codes{403, 403, 400, 400, 400, 400, 400}},

	// Volumes and gateways: members read; volumes are members' to delete,
	// gateways their admins'. Creation is refused (400) past the guard.
	{name: "volumes/list (global): any user, their projects' volumes", path: "/api/volumes/list", body: `{}`, want: authed},
	{name: "volumes/list: members", path: "/api/project/p/volumes/list", want: member},
	{name: "volumes/get: members", path: "/api/project/p/volumes/get", body: `{"name":"nope"}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "volumes/create: members, refused without a volume backend", path: "/api/project/p/volumes/create", body: `{"configuration":{"type":"volume","backend":"aws","region":"eu-west-1","size":"100GB"}}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "volumes/delete: members", path: "/api/project/p/volumes/delete", body: `{"names":["nope"]}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "volumes: missing project is 404", path: "/api/project/nope/volumes/list", want: missingProject},
	{name: "gateways/list: members", path: "/api/project/p/gateways/list", body: `{"include_imported":true}`, want: member},
	{name: "gateways/get: members", path: "/api/project/p/gateways/get", body: `{"name":"nope"}`, want: codes{403, 403, 403, 400, 400, 400, 400}},
	{name: "gateways/create: project admin, refused without gateways", path: "/api/project/p/gateways/create", body: `{"configuration":{"type":"gateway","backend":"aws","region":"eu-west-1"}}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "gateways/get_plan: project admin, refused without gateways", path: "/api/project/p/gateways/get_plan", body: `{"spec":{"configuration":{"type":"gateway","backend":"aws","region":"eu-west-1"}}}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "gateways/apply: project admin, refused without gateways", path: "/api/project/p/gateways/apply", body: `{"plan":{"spec":{"configuration":{"type":"gateway","backend":"aws","region":"eu-west-1"}}},"force":false}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "gateways/delete: project admin", path: "/api/project/p/gateways/delete", body: `{"names":["nope"]}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "gateways/set_default: project admin", path: "/api/project/p/gateways/set_default", body: `{"name":"nope"}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "gateways/set_wildcard_domain: project admin", path: "/api/project/p/gateways/set_wildcard_domain", body: `{"name":"nope","wildcard_domain":"example.com"}`, want: codes{403, 403, 403, 403, 403, 400, 400}},

	// Exports: members see them, project admins change them; imports the same
	// on the importing side.
	{name: "exports/list: members", path: "/api/project/p/exports/list", want: member},
	{name: "exports/create: project admin", path: "/api/project/p/exports/create", body: `{"name":"shared","importer_projects":["pub"]}`, want: projAdmins, iso: fresh},
	{name: "exports/update: project admin", path: "/api/project/p/exports/update", body: `{"name":"nope","set_global":true}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "exports/delete: project admin", path: "/api/project/p/exports/delete", body: `{"name":"nope"}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "exports: not even a public project opens exports to non-members", path: "/api/project/pub/exports/list", want: member},
	{name: "imports/list: members", path: "/api/project/p/imports/list", want: member},
	{name: "imports/delete: project admin", path: "/api/project/p/imports/delete", body: `{"export_project_name":"pub","export_name":"nope"}`, want: codes{403, 403, 403, 403, 403, 400, 400}},
	{name: "exports: missing project is 404", path: "/api/project/nope/exports/list", want: missingProject},
}

func TestRoleMatrix(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		newDB := func() *db.DB {
			if target.Dialect == db.SQLite {
				return dbtest.OpenMigrated(t, dbtest.SQLiteTarget(t))
			}
			return dbtest.OpenMigrated(t, dbtest.PostgresTarget(t))
		}
		sharedWorld := newWorld(t, newDB())
		for _, r := range matrix {
			t.Run(r.name, func(t *testing.T) {
				w := sharedWorld
				if r.iso != shared {
					w = newWorld(t, newDB())
				}
				for a := range nActors {
					w.s.Env.Perms = config.DefaultDefaultPermissions
					if r.perms != nil {
						w.s.Env.Perms = *r.perms
					}
					resp := w.call(a, r)
					checkCell(t, a, r.want[a], resp)
					if r.iso == fresh && resp.Status == http.StatusOK && a < nActors-1 {
						w = newWorld(t, newDB())
					}
				}
				w.s.Env.Perms = config.DefaultDefaultPermissions
			})
		}
	})
}

var actorNames = [nActors]string{"no-token", "bad-token", "outsider", "puser", "pmanager", "padmin", "admin"}

func checkCell(t *testing.T, a int, want int, r *apitest.Response) {
	t.Helper()
	who := actorNames[a]
	switch want {
	case known:
		t.Logf("%s: known divergence, got %d %s", who, r.Status, r.Body)
	case http.StatusOK:
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", who, r.Body)
	case http.StatusBadRequest:
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", who, r.Body)
		apitest.Require400(t, r, "")
	case http.StatusNotFound:
		require.Equal(t, http.StatusNotFound, r.Status, "%s: %s", who, r.Body)
		apitest.RequireBody(t, r, http.StatusNotFound, apitest.BodyProjectNotFound)
	case http.StatusForbidden:
		require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", who, r.Body)
		body := map[int]string{none: apitest.BodyNotAuthenticated, bad: apitest.BodyInvalidToken}[a]
		if body == "" {
			body = apitest.BodyAccessDenied
		}
		apitest.RequireBody(t, r, http.StatusForbidden, body)
	default:
		require.FailNow(t, fmt.Sprintf("bad expectation %d", want))
	}
}

// world is the matrix's fixture: a server and a token per actor.
type world struct {
	s      *apitest.Server
	tokens [nActors]string
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	s := apitest.New(t, d)
	w := &world{s: s}
	w.tokens[bad] = "0a3a3e3c-0000-4000-8000-000000000000"
	w.tokens[admin] = apitest.AdminToken
	w.tokens[padmin] = s.CreateUser("padmin", "user")
	w.tokens[manager] = s.CreateUser("pmanager", "user")
	w.tokens[user] = s.CreateUser("puser", "user")
	w.tokens[outsider] = s.CreateUser("outsider", "user")
	for _, n := range []string{"victim", "joiner", "pother"} {
		s.CreateUserNoToken(n)
	}
	for _, p := range []struct {
		name   string
		public bool
	}{{"p", false}, {"pub", true}} {
		s.CreateProject(w.tokens[padmin], p.name, p.public)
		s.AddMember(w.tokens[padmin], p.name, "pmanager", "manager")
		s.AddMember(w.tokens[padmin], p.name, "puser", "user")
		s.AddMember(w.tokens[padmin], p.name, "pother", "user")
	}
	s.SetSecret(w.tokens[padmin], "p", "s1", "v1")
	return w
}

func (w *world) call(a int, r matrixRow) *apitest.Response {
	self := "nobody"
	if a > bad {
		self = actorNames[a]
	}
	req := apitest.Request{Method: r.method, Path: r.path, Token: w.tokens[a]}
	if r.body != "" {
		req.Body = strings.NewReplacer("{{self}}", self, "{{key}}", seededPublicKey(byte(10+a))).Replace(r.body)
	}
	return w.s.Do(req)
}
