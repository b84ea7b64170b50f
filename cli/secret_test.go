package cli_test

// End-to-end tests of the client verbs through the real binary against a
// real `dstack server` (project, secret, the connection errors), in a
// sandboxed HOME, with the helpers of e2etest_helpers_test.go. They skip
// while cli.go does not register the client verbs yet; the in-process
// tests of package cli cover the same verbs meanwhile.

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// requireClientVerbs skips unless the binary has the client verbs.
func requireClientVerbs(t *testing.T, env []string) {
	t.Helper()
	cmd := exec.Command(dstackBinary(t), "project", "--help")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "set-default") {
		t.Skip("the binary does not register the client verbs yet (cli/cli.go)")
	}
}

func TestE2EProjectAndSecretVerbs(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s := startServer(t, home, nil)
	env := sandboxEnv(home)
	requireClientVerbs(t, env)

	t.Run("project", func(t *testing.T) {
		wantRun(t, env, 0, []string{"main", s.URL, "✓"}, "project")
		wantRun(t, env, 0, []string{"admin"}, "project", "list", "-v")
		wantRun(t, env, 0, []string{"Configuration updated at"}, "project", "add", "--name", "main", "--url", s.URL, "--token", s.Token, "-y")
		wantRun(t, env, 1, []string{"Error: the server refused the token"}, "project", "add", "--name", "main", "--url", s.URL, "--token", "wrong")
		wantRun(t, env, 1, []string{"Error: project nope not found on " + s.URL}, "project", "add", "--name", "nope", "--url", s.URL, "--token", s.Token)
		wantRun(t, env, 0, []string{"Created project second"}, "admin", "projects", "create", "second")
		wantRun(t, env, 0, nil, "project", "add", "--name", "second", "--url", s.URL, "--token", s.Token, "--no")
		wantRun(t, env, 0, []string{"OK"}, "project", "set-default", "second")
		cfg := readClientConfig(t, home)
		require.Len(t, cfg.Projects, 2, "config after set-default: %+v", cfg.Projects)
		require.Equal(t, "second", cfg.Projects[1].Name, "config after set-default: %+v", cfg.Projects)
		require.True(t, cfg.Projects[1].Default, "config after set-default: %+v", cfg.Projects)
		require.False(t, cfg.Projects[0].Default, "config after set-default: %+v", cfg.Projects)
		wantRun(t, env, 0, []string{"OK"}, "project", "delete", "second", "-y")
		wantRun(t, env, 0, nil, "project", "set-default", "main")
		cfg = readClientConfig(t, home)
		require.Len(t, cfg.Projects, 1, "config after delete: %+v", cfg.Projects)
		require.Equal(t, "main", cfg.Projects[0].Name, "config after delete: %+v", cfg.Projects)
	})

	t.Run("secret", func(t *testing.T) {
		wantRun(t, env, 0, []string{"OK"}, "secret", "set", "hf_token", "hf_abc")
		wantRun(t, env, 0, []string{"hf_token  ******"}, "secret", "list")
		wantRun(t, env, 0, []string{"hf_token  hf_abc"}, "secret", "get", "hf_token")
		r := wantRun(t, env, 0, nil, "secret", "list", "--json")
		var ss []struct{ Name string }
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &ss), "secret list --json: %s", r.Stdout)
		require.Len(t, ss, 1, "secret list --json: %s", r.Stdout)
		require.Equal(t, "hf_token", ss[0].Name, "secret list --json: %s", r.Stdout)
		wantRun(t, env, 0, []string{"OK"}, "secret", "delete", "hf_token", "-y")
		wantRun(t, env, 1, []string{"Error: secret hf_token not found"}, "secret", "get", "hf_token")
	})

	t.Run("errors", func(t *testing.T) { e2eConnectionErrors(t, s, env) })
}

// e2eConnectionErrors checks the one-line errors of an unreachable
// server, a bad token, an unknown project and an unknown run.
func e2eConnectionErrors(t *testing.T, s *serverProc, env []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		want string
		args []string
	}{
		{"Error: cannot reach the dstack server at " + closed, []string{"ps", "--url", closed, "--token", "x", "--project", "main"}},
		{"Error: the server refused the token", []string{"secret", "list", "--token", "wrong"}},
		{"Error: project not found: nope", []string{"fleet", "--url", s.URL, "--token", s.Token, "--project", "nope"}},
		{"Error: project \"nope\" is not in ", []string{"fleet", "--project", "nope"}},
		{"Error: run nope not found", []string{"logs", "nope"}},
	} {
		code := 1
		if strings.Contains(c.want, "is not in") {
			code = 2 // bad usage
		}
		r := wantRun(t, env, code, []string{c.want}, c.args...)
		assert.NotContains(t, strings.TrimSpace(r.Stderr), "\n", "dstack %s: want one line of stderr", strings.Join(c.args, " "))
	}
}

type clientConfigFile struct {
	Projects []struct {
		Name, URL, Token string
		Default          bool
	}
}

func readClientConfig(t *testing.T, home string) clientConfigFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(home, ".dstack", "config.yml"))
	require.NoError(t, err)
	var c clientConfigFile
	require.NoError(t, yaml.Unmarshal(data, &c))
	return c
}
