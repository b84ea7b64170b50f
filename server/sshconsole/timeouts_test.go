package sshconsole

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gossh "golang.org/x/crypto/ssh"
)

// TestConnectionsThatDoNotGetToASessionAreClosed: a client that connects
// and says nothing, or logs in and opens no session, is disconnected after
// the handshake timeout instead of holding a connection (and a goroutine)
// forever.
func TestConnectionsThatDoNotGetToASessionAreClosed(t *testing.T) {
	alice := newKey(t)
	s, err := New(Config{
		Addr: "127.0.0.1:0", HostKeyPath: filepath.Join(t.TempDir(), "host_key"), APIURL: fakeAPI(t).URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HandshakeTimeout: time.Second,
		Authenticate: func(_ context.Context, key gossh.PublicKey) (string, string, error) {
			if bytes.Equal(key.Marshal(), alice.PublicKey().Marshal()) {
				return "alice", "tok-alice", nil
			}
			return "", "", errors.New("unknown key")
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = s.Run(ctx) }()
	addr := s.Addr().String()

	t.Run("silent client", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		_, err = io.Copy(io.Discard, c) // the server's banner, then EOF when it hangs up
		require.NoError(t, err, "the server must hang up on a client that never finishes the handshake")
		require.Less(t, time.Since(start), 8*time.Second)
	})
	t.Run("logged in, no session", func(t *testing.T) {
		client, err := dial(addr, alice, nil)
		require.NoError(t, err)
		defer client.Close()
		done := make(chan error, 1)
		go func() { done <- client.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "the server keeps a connection that never opens a session")
		}
	})
}
