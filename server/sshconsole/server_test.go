package sshconsole

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gossh "golang.org/x/crypto/ssh"
)

// fakeAPI stands in for the dstack API: the few routes a console session
// calls first, for the token "tok-alice"; everything else is 404, as on a
// server without those routes.
func fakeAPI(t *testing.T) *httptest.Server {
	answers := map[string]string{
		"/api/users/get_my_user": `{"id":"u1","username":"alice","global_role":"user","active":true,"permissions":{"can_create_projects":true},"creds":{"token":"tok-alice"}}`,
		"/api/server/get_info":   `{"server_version":"0.21.2"}`,
		"/api/projects/list":     `[{"project_id":"p1","project_name":"main","owner":{"username":"alice"},"backends":[],"members":[],"is_public":false}]`,
		"/api/runs/list":         `[]`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-alice" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"detail":{"msg":"Invalid token","code":null}}`)
			return
		}
		body, ok := answers[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			body = `{"detail":"Not Found"}`
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newKey(t *testing.T) gossh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := gossh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// startServer runs a console accepting only alice's key.
func startServer(t *testing.T, hostKey string, alice gossh.PublicKey, api string, log io.Writer) (*Server, context.CancelFunc, <-chan error) {
	t.Helper()
	s, err := New(Config{
		Addr: "127.0.0.1:0", HostKeyPath: hostKey, APIURL: api, Logger: slog.New(slog.NewTextHandler(log, nil)),
		Authenticate: func(_ context.Context, key gossh.PublicKey) (string, string, error) {
			if bytes.Equal(key.Marshal(), alice.Marshal()) {
				return "alice", "tok-alice", nil
			}
			return "", "", errors.New("no user has registered this key")
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(cancel)
	return s, cancel, done
}

func dial(addr string, key gossh.Signer, hostKeys *[]gossh.PublicKey) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "alice",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			if hostKeys != nil {
				*hostKeys = append(*hostKeys, k)
			}
			return nil
		},
		Timeout: 5 * time.Second,
	})
}

// syncBuffer collects a session's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), want) }, 15*time.Second, 20*time.Millisecond,
		"waiting for %q; got %q", want, out.String())
}

// openShell starts a shell on an 80x24 PTY with NO_COLOR set.
func openShell(t *testing.T, c *gossh.Client) (*gossh.Session, *syncBuffer, io.Writer) {
	t.Helper()
	sess, err := c.NewSession()
	require.NoError(t, err)
	out := &syncBuffer{}
	sess.Stdout = out
	stdin, err := sess.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, sess.Setenv("NO_COLOR", "1"))
	require.NoError(t, sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}))
	require.NoError(t, sess.Shell())
	return sess, out, stdin
}

func TestConsoleOverSSH(t *testing.T) {
	api := fakeAPI(t)
	alice := newKey(t)
	hostKey := filepath.Join(t.TempDir(), "console", "host_ed25519")
	logs := &syncBuffer{}
	s, cancel, done := startServer(t, hostKey, alice.PublicKey(), api.URL, logs)

	var seen []gossh.PublicKey
	c, err := dial(s.Addr().String(), alice, &seen)
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, gossh.KeyAlgoED25519, seen[0].Type())

	sess, out, stdin := openShell(t, c)
	waitFor(t, out, "dstack console")
	waitFor(t, out, "alice")                   // the header: the session runs as the key's user
	waitFor(t, out, "No runs in project main") // runs/list answered with the user's token
	require.NotContains(t, out.String(), "\x1b[38;", "NO_COLOR: no colours")

	_, err = stdin.Write([]byte("5"))
	require.NoError(t, err)
	waitFor(t, out, "does not report its status") // a 404 route: what is known instead

	t.Run("unknown key refused", func(t *testing.T) {
		_, err := dial(s.Addr().String(), newKey(t), nil)
		require.Error(t, err)
		require.Contains(t, err.Error(), "unable to authenticate")
		require.Contains(t, logs.String(), "console ssh refused a key")
		require.Contains(t, logs.String(), "no user has registered this key")
	})

	t.Run("no PTY", func(t *testing.T) {
		ns, err := c.NewSession()
		require.NoError(t, err)
		var stderr bytes.Buffer
		ns.Stderr = &stderr
		err = ns.Run("")
		var exit *gossh.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 1, exit.ExitStatus())
		require.Contains(t, stderr.String(), "needs a terminal")
	})

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Run did not return after cancel")
	}
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the session did not end with the server")
	}

	// The host key was kept: a restarted server presents the same one.
	s2, _, _ := startServer(t, hostKey, alice.PublicKey(), api.URL, io.Discard)
	var again []gossh.PublicKey
	c2, err := dial(s2.Addr().String(), alice, &again)
	require.NoError(t, err)
	c2.Close()
	require.Equal(t, seen[0].Marshal(), again[0].Marshal())
}
