package cli_test

// End-to-end tests: the real binary, driven the way a user drives it.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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
		if out := s.stdout.String(); !strings.Contains(out, "Applying ~/.dstack/server/config.yml...\n") {
			assert.Fail(t, fmt.Sprintf("no 'Applying ~/.dstack/server/config.yml...' line:\n%s", out))
		}
		if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(s.URL) || s.Token == "" {
			assert.Fail(t, fmt.Sprintf("URL %q, token %q", s.URL, s.Token))
		}
		path := filepath.Join(home, ".dstack", "config.yml")
		var cc struct {
			Projects []struct {
				Name, URL, Token string
				Default          bool
			}
		}
		data, err := os.ReadFile(path)
		require.False(t, err != nil || yaml.Unmarshal(data, &cc) != nil || len(cc.Projects) != 1, "client config %s (%v):\n%s", path, err, data)
		if p := cc.Projects[0]; p.Name != "main" || p.URL != s.URL || p.Token != s.Token || !p.Default {
			assert.Fail(t, fmt.Sprintf("client config project %+v, want main %s %s default", p, s.URL, s.Token))
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			assert.Fail(t, fmt.Sprintf("client config holds tokens but its mode is %v (%v)", fi.Mode(), err))
		}
		var sc struct{ Projects []struct{ Name string } }
		data, err = os.ReadFile(filepath.Join(home, ".dstack", "server", "config.yml"))
		assert.False(t, err != nil || yaml.Unmarshal(data, &sc) != nil || len(sc.Projects) != 1 || sc.Projects[0].Name != "main", "server config.yml (%v):\n%s", err, data)
	})

	t.Run("api", func(t *testing.T) {
		var me apiUser
		if st := api(t, s.URL, s.Token, "/api/users/get_my_user", nil, &me); st != 200 || me.Username != "admin" || me.GlobalRole != "admin" || me.Creds.Token != s.Token {
			assert.Fail(t, fmt.Sprintf("get_my_user: %d %+v", st, me))
		}
		var ps []struct {
			ProjectName string `json:"project_name"`
		}
		if st := api(t, s.URL, s.Token, "/api/projects/list", map[string]any{}, &ps); st != 200 || len(ps) != 1 || ps[0].ProjectName != "main" {
			assert.Fail(t, fmt.Sprintf("projects/list: %d %+v", st, ps))
		}
		if st := api(t, s.URL, "", "/api/users/get_my_user", nil, nil); st != http.StatusUnauthorized && st != http.StatusForbidden {
			assert.Fail(t, fmt.Sprintf("get_my_user without a token: %d, want 401 or 403", st))
		}
		if st := api(t, s.URL, "not-a-token", "/api/users/get_my_user", nil, nil); st != http.StatusForbidden {
			assert.Fail(t, fmt.Sprintf("get_my_user with a bad token: %d, want 403", st))
		}
	})

	t.Run("users", func(t *testing.T) {
		r := wantRun(t, env, 0, []string{"Created user alice (user). Token: "}, "admin", "users", "create", "alice", "--role", "user", "--email", "a@x.io")
		token := strings.TrimSpace(r.Stdout[strings.LastIndex(r.Stdout, " ")+1:])
		wantRun(t, env, 0, []string{"USERNAME", "alice", "a@x.io", "admin"}, "admin", "users", "list")
		var users []apiUser
		r = wantRun(t, env, 0, nil, "admin", "users", "list", "--json")
		if err := json.Unmarshal([]byte(r.Stdout), &users); err != nil {
			require.FailNow(t, fmt.Sprintf("users list --json: %v\n%s", err, r.Stdout))
		}
		i := slices.IndexFunc(users, func(u apiUser) bool { return u.Username == "alice" })
		assert.False(t, len(users) != 2 || i < 0 || users[i].GlobalRole != "user" || users[i].Email == nil || *users[i].Email != "a@x.io" || !users[i].Active, "users list --json: %+v", users)
		var me apiUser
		if st := api(t, s.URL, token, "/api/users/get_my_user", nil, &me); st != 200 || me.Username != "alice" {
			assert.Fail(t, fmt.Sprintf("alice's printed token: get_my_user %d %+v", st, me))
		}
		wantRun(t, env, 1, []string{"alice already exists"}, "admin", "users", "create", "alice")
		wantRun(t, env, 2, []string{"usage: dstack admin users create USERNAME"}, "admin", "users", "create")
		wantRun(t, env, 2, []string{`--role "boss" is not one of: user, admin`}, "admin", "users", "create", "bob", "--role", "boss")
		wantRun(t, env, 0, []string{"User alice is now admin"}, "admin", "users", "set-role", "alice", "admin")
		wantRun(t, env, 2, []string{`"boss" is not one of`}, "admin", "users", "set-role", "alice", "boss")
		wantRun(t, env, 1, []string{"nobody not found"}, "admin", "users", "set-role", "nobody", "user")
		r = wantRun(t, env, 0, []string{"New token of alice: "}, "admin", "users", "refresh-token", "alice")
		newToken := strings.TrimSpace(strings.TrimPrefix(r.Stdout, "New token of alice: "))
		if st := api(t, s.URL, token, "/api/users/get_my_user", nil, nil); st != http.StatusForbidden {
			assert.Fail(t, fmt.Sprintf("old token after refresh-token: %d, want 403", st))
		}
		if st := api(t, s.URL, newToken, "/api/users/get_my_user", nil, &me); st != 200 || me.GlobalRole != "admin" {
			assert.Fail(t, fmt.Sprintf("new token after refresh-token: %d %+v", st, me))
		}
		wantRun(t, env, 0, []string{"Deleted user alice"}, "admin", "users", "delete", "alice")
		if r := wantRun(t, env, 0, nil, "admin", "users", "list"); strings.Contains(r.Stdout, "alice") {
			assert.Fail(t, fmt.Sprintf("alice still listed after delete:\n%s", r.Stdout))
		}
		wantRun(t, env, 1, []string{"alice not found"}, "admin", "users", "delete", "alice")
		wantRun(t, env, 2, []string{"usage:"}, "admin", "users", "delete")
	})

	t.Run("projects", func(t *testing.T) {
		wantRun(t, env, 0, []string{"Created user bob (user)"}, "admin", "users", "create", "bob")
		wantRun(t, env, 0, []string{"Created project p1"}, "admin", "projects", "create", "p1")
		wantRun(t, env, 1, []string{"p1 already exists"}, "admin", "projects", "create", "p1")
		wantRun(t, env, 0, []string{"NAME", "p1", "main"}, "admin", "projects", "list")
		r := wantRun(t, env, 0, []string{"Members of p1:"}, "admin", "projects", "add-member", "p1", "bob", "--role", "manager")
		if !regexp.MustCompile(`(?m)^bob +manager$`).MatchString(r.Stdout) {
			assert.Fail(t, fmt.Sprintf("add-member output lacks 'bob manager':\n%s", r.Stdout))
		}
		wantRun(t, env, 2, []string{`--role "boss" is not one of: user, manager, admin`}, "admin", "projects", "add-member", "p1", "bob", "--role", "boss")
		wantRun(t, env, 2, []string{"usage:"}, "admin", "projects", "add-member", "p1")
		wantRun(t, env, 1, []string{"project not found: nope"}, "admin", "projects", "add-member", "nope", "bob")
		wantRun(t, env, 1, []string{"ghost not found"}, "admin", "projects", "add-member", "p1", "ghost")
		if r := wantRun(t, env, 0, []string{"Members of p1:"}, "admin", "projects", "remove-member", "p1", "bob"); strings.Contains(r.Stdout, "bob") {
			assert.Fail(t, fmt.Sprintf("bob still a member after remove-member:\n%s", r.Stdout))
		}
		wantRun(t, env, 0, []string{"Deleted project p1"}, "admin", "projects", "delete", "p1")
		if r := wantRun(t, env, 0, nil, "admin", "projects", "list"); strings.Contains(r.Stdout, "p1") {
			assert.Fail(t, fmt.Sprintf("p1 still listed after delete:\n%s", r.Stdout))
		}
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
	if !ok || code == 0 {
		require.FailNow(t, fmt.Sprintf("second server on the same SQLite dir: exited=%v code=%d, want a non-zero exit\n%s", ok, code, second.Output()))
	}
	if out := second.Output(); !strings.Contains(out, "another dstack server is using") {
		assert.Fail(t, fmt.Sprintf("the error does not say another server uses the database:\n%s", out))
	}
	if listening(second.Port) {
		assert.Fail(t, fmt.Sprintf("the refused server left port %d listening", second.Port))
	}
	if st := api(t, first.URL, first.Token, "/api/users/get_my_user", nil, nil); st != 200 {
		assert.Fail(t, fmt.Sprintf("first server after the refused second one: %d", st))
	}
}

func TestE2ERestartKeepsStateAndFirstToken(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s1 := startServer(t, home, nil, "--token", "first-token")
	if s1.Token != "first-token" {
		require.FailNow(t, fmt.Sprintf("admin token %q, want the --token value", s1.Token))
	}
	wantRun(t, sandboxEnv(home), 0, nil, "admin", "users", "create", "carol")
	if code := s1.Stop(t); code != 0 {
		require.FailNow(t, fmt.Sprintf("SIGTERM: exit %d\n%s", code, s1.Output()))
	}
	s2 := startServerAt(t, home, s1.Port, nil, "--token", "second-token")
	if s2.Token != "first-token" {
		assert.Fail(t, fmt.Sprintf("after restart with another --token the admin token is %q, want the first one", s2.Token))
	}
	if st := api(t, s2.URL, "second-token", "/api/users/get_my_user", nil, nil); st != http.StatusForbidden {
		assert.Fail(t, fmt.Sprintf("the second --token was accepted (%d): it must only apply on first creation", st))
	}
	wantRun(t, sandboxEnv(home), 0, []string{"carol"}, "admin", "users", "list")
}

func TestE2ESigtermExitsZero(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	start := time.Now()
	if code := s.Stop(t); code != 0 {
		assert.Fail(t, fmt.Sprintf("exit code after SIGTERM %d, want 0\n%s", code, s.Output()))
	}
	if d := time.Since(start); d > 3*time.Second {
		assert.Fail(t, fmt.Sprintf("SIGTERM took %v to stop an idle server", d))
	}
	if listening(s.Port) {
		assert.Fail(t, fmt.Sprintf("port %d still listening after exit", s.Port))
	}
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
			if !c.busyPort && listening(s.Port) {
				assert.Fail(t, fmt.Sprintf("port %d left listening", s.Port))
			}
			if data, _ := os.ReadFile(cfg); c.config != "" && string(data) != c.config {
				assert.Fail(t, fmt.Sprintf("the server rewrote the bad config.yml:\n%s", data))
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
		if a.Token != b.Token {
			assert.Fail(t, fmt.Sprintf("two replicas created two admins: tokens %q and %q", a.Token, b.Token))
		}
		wantRun(t, sandboxEnv(t.TempDir(), "DSTACK_SERVER_URL="+a.URL, "DSTACK_TOKEN="+a.Token), 0, nil, "admin", "users", "create", "erin")
		wantRun(t, sandboxEnv(t.TempDir(), "DSTACK_SERVER_URL="+b.URL, "DSTACK_TOKEN="+b.Token), 0, []string{"erin"}, "admin", "users", "list")
		for _, s := range []*serverProc{a, b} {
			if st := api(t, s.URL, s.Token, "/api/projects/list", nil, nil); st != 200 {
				assert.Fail(t, fmt.Sprintf("%s projects/list: %d", s.URL, st))
			}
		}
	})
}
