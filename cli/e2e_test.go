package cli_test

// End-to-end tests: the real binary, driven the way a user drives it.

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type apiUser struct {
	Username   string  `json:"username"`
	GlobalRole string  `json:"global_role"`
	Email      *string `json:"email"`
	Active     bool    `json:"active"`
	Creds      struct {
		Token string `json:"token"`
	} `json:"creds"`
}

func TestE2EServerAndAdminVerbs(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s := startServer(t, home, nil)
	env := sandboxEnv(home)

	t.Run("startup", func(t *testing.T) {
		assert.Contains(t, s.stdout.String(), "Applying ~/.dstack/server/config.yml...\n", "server startup output")
		assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, s.URL, "server URL")
		assert.NotEmpty(t, s.Token, "admin token")
		path := filepath.Join(home, ".dstack", "config.yml")
		type project struct {
			Name, URL, Token string
			Default          bool
		}
		var cc struct{ Projects []project }
		data, err := os.ReadFile(path)
		require.False(t, err != nil || yaml.Unmarshal(data, &cc) != nil || len(cc.Projects) != 1, "client config %s (%v):\n%s", path, err, data)
		assert.Equal(t, project{Name: "main", URL: s.URL, Token: s.Token, Default: true}, cc.Projects[0], "client config project")
		if fi, err := os.Stat(path); assert.NoError(t, err, "client config") {
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "client config holds tokens: its mode")
		}
		var sc struct{ Projects []struct{ Name string } }
		data, err = os.ReadFile(filepath.Join(home, ".dstack", "server", "config.yml"))
		assert.False(t, err != nil || yaml.Unmarshal(data, &sc) != nil || len(sc.Projects) != 1 || sc.Projects[0].Name != "main", "server config.yml (%v):\n%s", err, data)
	})

	t.Run("api", func(t *testing.T) {
		var me apiUser
		assert.Equal(t, 200, api(t, s.URL, s.Token, "/api/users/get_my_user", nil, &me), "get_my_user")
		assert.Equal(t, "admin", me.Username, "get_my_user: %+v", me)
		assert.Equal(t, "admin", me.GlobalRole, "get_my_user: %+v", me)
		assert.Equal(t, s.Token, me.Creds.Token, "get_my_user: %+v", me)
		var ps []struct {
			ProjectName string `json:"project_name"`
		}
		assert.Equal(t, 200, api(t, s.URL, s.Token, "/api/projects/list", map[string]any{}, &ps), "projects/list")
		if assert.Len(t, ps, 1, "projects/list") {
			assert.Equal(t, "main", ps[0].ProjectName, "projects/list")
		}
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, api(t, s.URL, "", "/api/users/get_my_user", nil, nil), "get_my_user without a token")
		assert.Equal(t, http.StatusForbidden, api(t, s.URL, "not-a-token", "/api/users/get_my_user", nil, nil), "get_my_user with a bad token")
	})

	t.Run("users", func(t *testing.T) {
		r := wantRun(t, env, 0, []string{"Created user alice (user). Token: "}, "admin", "users", "create", "alice", "--role", "user", "--email", "a@x.io")
		token := strings.TrimSpace(r.Stdout[strings.LastIndex(r.Stdout, " ")+1:])
		wantRun(t, env, 0, []string{"USERNAME", "alice", "a@x.io", "admin"}, "admin", "users", "list")
		var users []apiUser
		r = wantRun(t, env, 0, nil, "admin", "users", "list", "--json")
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &users), "users list --json:\n%s", r.Stdout)
		i := slices.IndexFunc(users, func(u apiUser) bool { return u.Username == "alice" })
		assert.False(t, len(users) != 2 || i < 0 || users[i].GlobalRole != "user" || users[i].Email == nil || *users[i].Email != "a@x.io" || !users[i].Active, "users list --json: %+v", users)
		var me apiUser
		assert.Equal(t, 200, api(t, s.URL, token, "/api/users/get_my_user", nil, &me), "alice's printed token: get_my_user")
		assert.Equal(t, "alice", me.Username, "alice's printed token: get_my_user")
		wantRun(t, env, 1, []string{"alice already exists"}, "admin", "users", "create", "alice")
		wantRun(t, env, 2, []string{"usage: dstack admin users create USERNAME"}, "admin", "users", "create")
		wantRun(t, env, 2, []string{`--role "boss" is not one of: user, admin`}, "admin", "users", "create", "bob", "--role", "boss")
		wantRun(t, env, 0, []string{"User alice is now admin"}, "admin", "users", "set-role", "alice", "admin")
		wantRun(t, env, 2, []string{`"boss" is not one of`}, "admin", "users", "set-role", "alice", "boss")
		wantRun(t, env, 1, []string{"nobody not found"}, "admin", "users", "set-role", "nobody", "user")
		r = wantRun(t, env, 0, []string{"New token of alice: "}, "admin", "users", "refresh-token", "alice")
		newToken := strings.TrimSpace(strings.TrimPrefix(r.Stdout, "New token of alice: "))
		assert.Equal(t, http.StatusForbidden, api(t, s.URL, token, "/api/users/get_my_user", nil, nil), "old token after refresh-token")
		assert.Equal(t, 200, api(t, s.URL, newToken, "/api/users/get_my_user", nil, &me), "new token after refresh-token")
		assert.Equal(t, "admin", me.GlobalRole, "new token after refresh-token: %+v", me)
		wantRun(t, env, 0, []string{"Deleted user alice"}, "admin", "users", "delete", "alice")
		assert.NotContains(t, wantRun(t, env, 0, nil, "admin", "users", "list").Stdout, "alice", "users list after delete")
		wantRun(t, env, 1, []string{"alice not found"}, "admin", "users", "delete", "alice")
		wantRun(t, env, 2, []string{"usage:"}, "admin", "users", "delete")
	})

	t.Run("projects", func(t *testing.T) {
		wantRun(t, env, 0, []string{"Created user bob (user)"}, "admin", "users", "create", "bob")
		wantRun(t, env, 0, []string{"Created project p1"}, "admin", "projects", "create", "p1")
		wantRun(t, env, 1, []string{"p1 already exists"}, "admin", "projects", "create", "p1")
		wantRun(t, env, 0, []string{"NAME", "p1", "main"}, "admin", "projects", "list")
		r := wantRun(t, env, 0, []string{"Members of p1:"}, "admin", "projects", "add-member", "p1", "bob", "--role", "manager")
		assert.Regexp(t, `(?m)^bob +manager$`, r.Stdout, "add-member output")
		wantRun(t, env, 2, []string{`--role "boss" is not one of: user, manager, admin`}, "admin", "projects", "add-member", "p1", "bob", "--role", "boss")
		wantRun(t, env, 2, []string{"usage:"}, "admin", "projects", "add-member", "p1")
		wantRun(t, env, 1, []string{"project not found: nope"}, "admin", "projects", "add-member", "nope", "bob")
		wantRun(t, env, 1, []string{"ghost not found"}, "admin", "projects", "add-member", "p1", "ghost")
		r = wantRun(t, env, 0, []string{"Members of p1:"}, "admin", "projects", "remove-member", "p1", "bob")
		assert.NotContains(t, r.Stdout, "bob", "members after remove-member")
		wantRun(t, env, 0, []string{"Deleted project p1"}, "admin", "projects", "delete", "p1")
		assert.NotContains(t, wantRun(t, env, 0, nil, "admin", "projects", "list").Stdout, "p1", "projects list after delete")
		wantRun(t, env, 1, []string{"p1 not found"}, "admin", "projects", "delete", "p1")
	})

	t.Run("connection", func(t *testing.T) {
		empty := t.TempDir() // a HOME without ~/.dstack/config.yml
		wantRun(t, sandboxEnv(empty, "DSTACK_SERVER_URL="+s.URL, "DSTACK_TOKEN="+s.Token), 0, []string{"main"}, "admin", "projects", "list")
		wantRun(t, sandboxEnv(empty), 2, []string{"no server configured"}, "admin", "projects", "list")
		wantRun(t, sandboxEnv(home, "DSTACK_TOKEN=wrong"), 1, []string{"refused the token"}, "admin", "users", "list")
		dead := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
		wantRun(t, sandboxEnv(empty, "DSTACK_SERVER_URL="+dead, "DSTACK_TOKEN=x"), 1, []string{"cannot reach", dead}, "admin", "users", "list")
		wantRun(t, env, 1, []string{"cannot reach"}, "admin", "users", "list", "--url", dead)
		wantRun(t, env, 2, []string{"must start with http://"}, "admin", "users", "list", "--url", "127.0.0.1:1")
		r := wantRun(t, env, 0, []string{"Created user carl (user). Token: "}, "admin", "users", "create", "carl")
		carl := strings.TrimSpace(r.Stdout[strings.LastIndex(r.Stdout, " ")+1:])
		wantRun(t, sandboxEnv(home, "DSTACK_TOKEN="+carl), 1, []string{"access denied"}, "admin", "users", "create", "eve")
	})
}

func TestE2ESecondServerOnSameSQLiteRefused(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	first := startServer(t, home, nil)
	second := launchServer(t, sandboxEnv(home), 0)
	code, ok := second.WaitExit(15 * time.Second)
	require.True(t, ok, "second server on the same SQLite dir still running after 15s\n%s", second.Output())
	require.NotEqual(t, 0, code, "second server on the same SQLite dir: want a non-zero exit\n%s", second.Output())
	assert.Contains(t, second.Output(), "another dstack server is using", "the error must say another server uses the database")
	assert.False(t, listening(second.Port), "the refused server left port %d listening", second.Port)
	assert.Equal(t, 200, api(t, first.URL, first.Token, "/api/users/get_my_user", nil, nil), "first server after the refused second one")
}

func TestE2ERestartKeepsStateAndFirstToken(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s1 := startServer(t, home, nil, "--token", "first-token")
	require.Equal(t, "first-token", s1.Token, "admin token: want the --token value")
	wantRun(t, sandboxEnv(home), 0, nil, "admin", "users", "create", "carol")
	code := s1.Stop(t)
	require.Equal(t, 0, code, "exit code after SIGTERM\n%s", s1.Output())
	s2 := startServerAt(t, home, s1.Port, nil, "--token", "second-token")
	assert.Equal(t, "first-token", s2.Token, "admin token after restart with another --token: want the first one")
	assert.Equal(t, http.StatusForbidden, api(t, s2.URL, "second-token", "/api/users/get_my_user", nil, nil), "the second --token must only apply on first creation")
	wantRun(t, sandboxEnv(home), 0, []string{"carol"}, "admin", "users", "list")
}

func TestE2ESigtermExitsZero(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	start := time.Now()
	code := s.Stop(t)
	assert.Equal(t, 0, code, "exit code after SIGTERM\n%s", s.Output())
	assert.LessOrEqual(t, time.Since(start), 3*time.Second, "time SIGTERM took to stop an idle server")
	assert.False(t, listening(s.Port), "port %d still listening after exit", s.Port)
}

func TestE2EStartupErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, config string
		env, want    []string
		busyPort     bool
	}{
		{"unknown config key", "projects:\n  - name: main\nbogus: 1\n", nil, []string{"config.yml:3:", `unknown field "bogus"`}, false},
		{"malformed config", "projects:\n  - name: main\n    backends: x: y\n", nil, []string{"config.yml:3:", "mapping values are not allowed"}, false},
		{"unsupported database URL", "", []string{"DSTACK_DATABASE_URL=mysql://x"}, []string{"DSTACK_DATABASE_URL", `"mysql" is not supported`}, false},
		{"unreachable postgres", "", []string{"DSTACK_DATABASE_URL=postgresql+asyncpg://u:secret@127.0.0.1:1/db"}, []string{"connect to postgres", "127.0.0.1:1"}, false},
		{"port in use", "", nil, []string{"is already in use", "--port"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			cfg := filepath.Join(home, ".dstack", "server", "config.yml")
			if c.config != "" {
				require.NoError(t, os.MkdirAll(filepath.Dir(cfg), 0o700))
				require.NoError(t, os.WriteFile(cfg, []byte(c.config), 0o600))
			}
			port := freePort(t)
			if c.busyPort {
				ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
				require.NoError(t, err)
				defer ln.Close()
			}
			s := launchServer(t, sandboxEnv(home, c.env...), port)
			code, ok := s.WaitExit(15 * time.Second)
			out := s.Output()
			require.False(t, !ok || code == 0, "exited=%v code=%d, want a non-zero exit within 15s\n%s", ok, code, out)
			for _, w := range c.want {
				assert.Contains(t, out, w, "the error lacks %q:\n%s", w, out)
			}
			assert.False(t, c.config != "" && !strings.Contains(out, cfg+":"), "the error does not name %s:\n%s", cfg, out)
			assert.False(t, strings.Contains(out, "secret") || strings.Contains(out, "The server is running"), "the output leaks the password or claims to run:\n%s", out)
			if !c.busyPort {
				assert.False(t, listening(s.Port), "port %d left listening", s.Port)
			}
			if c.config != "" {
				data, _ := os.ReadFile(cfg)
				assert.Equal(t, c.config, string(data), "the server must not rewrite the bad config.yml")
			}
		})
	}
}

func TestE2EPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	t.Parallel()

	t.Run("one server", func(t *testing.T) {
		dbURL, home := freshDatabase(t, dsn), t.TempDir()
		startServer(t, home, []string{"DSTACK_DATABASE_URL=" + dbURL})
		wantRun(t, sandboxEnv(home), 0, []string{"Created user dora (user)"}, "admin", "users", "create", "dora")
		wantRun(t, sandboxEnv(home), 0, []string{"dora"}, "admin", "users", "list")
		_, err := os.Stat(filepath.Join(home, ".dstack", "server", "data", "sqlite.db"))
		assert.Error(t, err, "a SQLite database was created although DSTACK_DATABASE_URL points at PostgreSQL")
	})

	t.Run("two servers at once", func(t *testing.T) {
		dbURL := freshDatabase(t, dsn)
		a := launchServer(t, sandboxEnv(t.TempDir(), "DSTACK_DATABASE_URL="+dbURL), 0)
		b := launchServer(t, sandboxEnv(t.TempDir(), "DSTACK_DATABASE_URL="+dbURL), 0)
		a.WaitReady(t)
		b.WaitReady(t)
		assert.Equal(t, a.Token, b.Token, "two replicas must share one admin")
		wantRun(t, sandboxEnv(t.TempDir(), "DSTACK_SERVER_URL="+a.URL, "DSTACK_TOKEN="+a.Token), 0, nil, "admin", "users", "create", "erin")
		wantRun(t, sandboxEnv(t.TempDir(), "DSTACK_SERVER_URL="+b.URL, "DSTACK_TOKEN="+b.Token), 0, []string{"erin"}, "admin", "users", "list")
		for _, s := range []*serverProc{a, b} {
			assert.Equal(t, 200, api(t, s.URL, s.Token, "/api/projects/list", nil, nil), "%s projects/list", s.URL)
		}
	})
}
