package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/schemas"
)

// realServer serves the real API router (SQLite, bootstrapped with the
// admin and project "main") over HTTP in-process, with HOME in a temp dir.
func realServer(t *testing.T) (url string, api *apitest.Server) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"DSTACK_SERVER_URL", "DSTACK_TOKEN", "DSTACK_PROJECT", "COLUMNS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	api = apitest.New(t, dbtest.OpenMigrated(t, dbtest.SQLiteTarget(t)))
	return serveHTTP(t, api), api
}

type savedConfig struct {
	Projects []clientProject `yaml:"projects"`
}

func readConfig(t *testing.T) savedConfig {
	t.Helper()
	home, _ := os.UserHomeDir()
	data, err := os.ReadFile(filepath.Join(home, ".dstack", "config.yml"))
	require.NoError(t, err)
	var c savedConfig
	require.NoError(t, yaml.Unmarshal(data, &c))
	return c
}

func TestProjectVerbs(t *testing.T) {
	url, api := realServer(t)
	api.CreateProject(apitest.AdminToken, "second", false)

	res := runCLI(t, "", "project", "add", "--name", "main", "--url", url, "--token", apitest.AdminToken)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Configuration updated at ")
	require.Equal(t, []clientProject{{Name: "main", URL: url, Token: apitest.AdminToken, Default: true}}, readConfig(t).Projects,
		"the first project becomes the default")

	res = runCLI(t, "n\n", "project", "add", "--name", "second", "--url", url+"/", "--token", apitest.AdminToken)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Set 'second' as your default project? [y/n]: ")
	cfg := readConfig(t)
	require.Len(t, cfg.Projects, 2)
	require.False(t, cfg.Projects[1].Default)
	require.Equal(t, url, cfg.Projects[1].URL, "a trailing slash is dropped")

	res = runCLI(t, "", "project", "list")
	require.Equal(t, 0, res.Code, res.Stderr)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, []string{"PROJECT", "URL", "DEFAULT"}, strings.Fields(lines[0]))
	require.Equal(t, []string{"main", url, "✓"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"second", url}, strings.Fields(lines[2]))

	res = runCLI(t, "", "project", "-v")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, []string{"main", url, "admin", "✓"}, strings.Fields(strings.Split(res.Stdout, "\n")[1]))

	res = runCLI(t, "", "project", "set-default", "second")
	require.Equal(t, 0, res.Code, res.Stderr)
	cfg = readConfig(t)
	require.True(t, cfg.Projects[1].Default)
	require.False(t, cfg.Projects[0].Default)

	res = runCLI(t, "", "project", "delete", "main", "-y")
	require.Equal(t, 0, res.Code, res.Stderr)
	cfg = readConfig(t)
	require.Len(t, cfg.Projects, 1)
	require.Equal(t, "second", cfg.Projects[0].Name)

	res = runCLI(t, "", "project", "set-default", "main")
	require.Equal(t, 1, res.Code)
	require.Contains(t, res.Stderr, "project main is not in ")
}

func TestProjectAddErrors(t *testing.T) {
	url, _ := realServer(t)
	for _, c := range []struct {
		name, project, url, token, want string
	}{
		{"bad token", "main", url, "wrong", "Error: the server refused the token"},
		{"unknown project", "nope", url, apitest.AdminToken, "Error: project nope not found on " + url + "\n"},
		{"unreachable", "main", "http://" + closedAddr(t), apitest.AdminToken, "Error: cannot reach the dstack server at http://"},
		{"not a URL", "main", "localhost:3000", apitest.AdminToken, "must start with http:// or https://"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runCLI(t, "", "project", "add", "--name", c.project, "--url", c.url, "--token", c.token)
			require.NotEqual(t, 0, res.Code)
			require.Contains(t, res.Stderr, c.want)
			require.Equal(t, 1, strings.Count(res.Stderr, "\n"), "one line: %q", res.Stderr)
			_, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".dstack", "config.yml"))
			require.True(t, os.IsNotExist(err), "nothing is written")
		})
	}
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestConnectionErrors(t *testing.T) {
	url, _ := realServer(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"bad token", []string{"secret", "list", "--url", url, "--token", "wrong", "--project", "main"}, "Error: the server refused the token (Invalid token)"},
		{"unknown project", []string{"secret", "list", "--url", url, "--token", apitest.AdminToken, "--project", "nope"}, "Error: project not found: nope\n"},
		{"unreachable", []string{"ps", "--url", "http://" + closedAddr(t), "--token", "x", "--project", "main"}, "Error: cannot reach the dstack server at http://"},
		{"no config", []string{"fleet"}, "Error: no server configured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runCLI(t, "", c.args...)
			require.NotEqual(t, 0, res.Code)
			require.Contains(t, res.Stderr, c.want)
			require.Equal(t, 1, strings.Count(res.Stderr, "\n"), "one line, no stack trace: %q", res.Stderr)
		})
	}
}

func TestVersionMismatchMessage(t *testing.T) {
	msg := "The client/CLI version (0.21.2) is incompatible with the server version (0.20.5)."
	f := newFake(t).on("/api/runs/list", reply{400, `{"detail":[{"msg":"` + msg + `","code":"error"}]}`})
	res := runCLI(t, "", append([]string{"ps"}, f.flags()...)...)
	require.Equal(t, 1, res.Code)
	require.Equal(t, "Error: "+msg+"\n", res.Stderr)
}

func TestEnvOverridesConfig(t *testing.T) {
	url, _ := realServer(t)
	t.Setenv("DSTACK_SERVER_URL", url)
	t.Setenv("DSTACK_TOKEN", apitest.AdminToken)
	t.Setenv("DSTACK_PROJECT", "main")
	res := runCLI(t, "", "secret", "list")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "NAME  VALUE\n", res.Stdout)
}

func TestSecretVerbs(t *testing.T) {
	url, api := realServer(t)
	conn := []string{"--url", url, "--token", apitest.AdminToken, "--project", "main"}
	run := func(stdin string, args ...string) cliResult { return runCLI(t, stdin, append(args, conn...)...) }

	res := run("", "secret")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "NAME  VALUE\n", res.Stdout)

	res = run("", "secret", "set", "hf_token", "hf_abc")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "OK\n", res.Stdout)
	api.SetSecret(apitest.AdminToken, "main", "wandb", "w123")

	res = run("", "secret", "list")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "hf_token  ******\n")
	require.Contains(t, res.Stdout, "wandb     ******\n")

	res = run("", "secret", "get", "hf_token")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "NAME      VALUE\nhf_token  hf_abc\n", res.Stdout)

	res = run("", "secret", "get", "hf_token", "--json")
	require.Equal(t, 0, res.Code, res.Stderr)
	var s schemas.Secret
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &s))
	require.Equal(t, "hf_abc", *s.Value)

	res = run("", "secret", "list", "--json")
	require.Equal(t, 0, res.Code, res.Stderr)
	var ss []schemas.Secret
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &ss))
	require.Len(t, ss, 2)

	res = run("n\n", "secret", "delete", "hf_token")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Exiting...")
	res = run("", "secret", "delete", "hf_token", "-y")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "OK\n", res.Stdout)

	res = run("", "secret", "get", "hf_token")
	require.Equal(t, 1, res.Code)
	require.Equal(t, "Error: secret hf_token not found\n", res.Stderr)

	res = run("", "secret", "set", "only-name")
	require.Equal(t, 2, res.Code)
}
