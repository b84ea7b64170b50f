package sshconsole

import (
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// handshakeConn holds a connection to a deadline until its first session
// starts: a client that connects and stalls, or logs in and opens nothing,
// is disconnected instead of holding the connection forever. Afterwards
// the server's idle timeout alone applies.
type handshakeConn struct {
	net.Conn
	mu    sync.Mutex
	until time.Time // zero once a session started
}

type handshakeConnKey struct{}

// SetDeadline keeps the handshake deadline while it applies.
func (c *handshakeConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.until.IsZero() && (t.IsZero() || t.After(c.until)) {
		t = c.until
	}
	return c.Conn.SetDeadline(t)
}

// sessionStarted lifts the handshake deadline.
func (c *handshakeConn) sessionStarted() {
	c.mu.Lock()
	c.until = time.Time{}
	c.mu.Unlock()
	_ = c.SetDeadline(time.Time{})
}

// handshakeDone marks the session's connection as past its handshake; it
// runs first of the middlewares.
func handshakeDone(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if hc, ok := sess.Context().Value(handshakeConnKey{}).(*handshakeConn); ok {
			hc.sessionStarted()
		}
		next(sess)
	}
}
