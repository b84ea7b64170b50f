package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxSessions bounds concurrent sessions (commands, SFTP) per connection,
// below OpenSSH's default MaxSessions of 10. Tunnelled TCP is not counted.
const maxSessions = 8

// Conn is a pooled SSH connection. Get it from Pool.Get; it stays usable
// until it dies or the pool closes it. All methods are safe for concurrent use.
type Conn struct {
	target Target
	client *ssh.Client
	jumps  []*ssh.Client
	opts   PoolOptions
	log    *slog.Logger

	sessions  chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	lastOK    atomic.Int64 // unix nanos of the last sign of life

	httpMu  sync.Mutex
	clients map[int]*http.Client

	sftpState atomic.Int32 // 0 unknown, 1 available, 2 unavailable
}

func newConn(t Target, client *ssh.Client, jumps []*ssh.Client, opts PoolOptions, log *slog.Logger) *Conn {
	c := &Conn{
		target: t, client: client, jumps: jumps, opts: opts, log: log.With("target", t.String()),
		sessions: make(chan struct{}, maxSessions), done: make(chan struct{}), clients: map[int]*http.Client{},
	}
	c.lastOK.Store(time.Now().UnixNano())
	go func() {
		_ = client.Wait()
		c.Close()
	}()
	go c.keepalive()
	return c
}

// Target returns the target this connection was made to.
func (c *Conn) Target() Target { return c.target }

// Done is closed when the connection is gone (closed, or found dead).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection and its jump hops; the pool replaces it on the
// next Get.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.client.Close()
		closeClients(c.jumps)
		c.httpMu.Lock()
		for _, hc := range c.clients {
			hc.CloseIdleConnections()
		}
		c.httpMu.Unlock()
	})
}

// ErrRemoteRefused is wrapped by Dial (and so by HTTPClient requests) when
// the SSH connection works but nothing accepts connections on the remote
// address: the agent is not listening.
var ErrRemoteRefused = errors.New("connection refused on the host (nothing listens there)")

// Dial opens a TCP connection from the remote host to addr (for example
// "127.0.0.1:10998"), tunnelled through the SSH connection.
func (c *Conn) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := c.client.DialContext(ctx, network, addr)
	if err != nil {
		if c.isClosed() {
			return nil, lostConnection(c.target, "dial "+addr, err)
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) && oce.Reason == ssh.ConnectionFailed {
			return nil, fmt.Errorf("dial %s on %s through SSH: %w", addr, c.target.Addr(), ErrRemoteRefused)
		}
		return nil, fmt.Errorf("dial %s on %s through SSH: %w", addr, c.target.Addr(), err)
	}
	c.lastOK.Store(time.Now().UnixNano())
	return nc, nil
}

// HTTPClient returns an HTTP client whose connections go to 127.0.0.1:port
// on the remote host through this SSH connection, whatever the URL's host
// (use "http://127.0.0.1:<port>"). Clients are cached per port and keep idle
// connections for reuse; they stop working when the connection dies.
func (c *Conn) HTTPClient(port int) *http.Client {
	c.httpMu.Lock()
	defer c.httpMu.Unlock()
	if hc, ok := c.clients[port]; ok {
		return hc
	}
	remote := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var rt http.RoundTripper = &http.Transport{
		Proxy: nil, // never through an HTTP proxy from the environment
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.Dial(ctx, "tcp", remote)
		},
		MaxIdleConns:        16,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	if c.opts.Observer != nil {
		agent := "runner"
		if port == DefaultShimPort {
			agent = "shim"
		}
		rt = observedTransport{next: rt, obs: c.opts.Observer, agent: agent}
	}
	hc := &http.Client{Transport: rt}
	c.clients[port] = hc
	return hc
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// acquire takes a session slot.
func (c *Conn) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.sessions <- struct{}{}:
		return func() { <-c.sessions }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, lostConnection(c.target, "open session", net.ErrClosed)
	}
}

// Run runs cmd through the remote user's login shell, with stdin (nil: empty
// input). A command that runs and fails returns its output and a
// *CommandError carrying the exit status; ctx cancellation abandons the
// command (its session is closed) and returns no output.
func (c *Conn) Run(ctx context.Context, cmd string, stdin io.Reader) (stdout, stderr []byte, err error) {
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer sess.Close()
	overflow := make(chan string, 2)
	outBuf := &cappedBuffer{name: "stdout", over: overflow}
	errBuf := &cappedBuffer{name: "stderr", over: overflow}
	sess.Stdout, sess.Stderr, sess.Stdin = outBuf, errBuf, stdin
	if err := sess.Start(cmd); err != nil {
		return nil, nil, lostConnection(c.target, "start command", err)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- sess.Wait() }()
	select {
	case err = <-waitc:
	case stream := <-overflow:
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		<-waitc
		return outBuf.Bytes(), errBuf.Bytes(), fmt.Errorf("run `%s` on %s: the command wrote more than %d MiB to its %s; "+
			"dstack reads at most that much of a command's output", abbreviate(cmd), c.target.Addr(), MaxCommandOutput>>20, stream)
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		return nil, nil, fmt.Errorf("run `%s`: %w", abbreviate(cmd), ctx.Err())
	}
	c.lastOK.Store(time.Now().UnixNano())
	stdout, stderr = outBuf.Bytes(), errBuf.Bytes()
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return stdout, stderr, nil
	case errors.As(err, &exitErr):
		return stdout, stderr, &CommandError{Cmd: abbreviate(cmd), ExitStatus: exitErr.ExitStatus(),
			Signal: exitErr.Signal(), Stderr: tail(stderr, 5)}
	case errors.As(err, &missing):
		return stdout, stderr, &CommandError{Cmd: abbreviate(cmd), ExitStatus: -1, Stderr: tail(stderr, 5)}
	}
	return stdout, stderr, lostConnection(c.target, "run command", err)
}

// newSession opens a session. A refused open (the server's MaxSessions is
// reached: it frees sessions slightly after we see them end) is retried
// with backoff; any other failure means the connection is gone.
func (c *Conn) newSession(ctx context.Context) (*ssh.Session, error) {
	delay := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		sess, err := c.client.NewSession()
		if err == nil {
			return sess, nil
		}
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) {
			c.Close()
			return nil, lostConnection(c.target, "open session", err)
		}
		if attempt == 30 {
			return nil, &Error{Kind: KindConnection, Err: err, Msg: fmt.Sprintf(
				"%s refuses to open SSH sessions (%s); check MaxSessions in its sshd_config", c.target, oce.Message)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, lostConnection(c.target, "open session", net.ErrClosed)
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// MaxCommandOutput bounds what Run keeps of each of a command's output
// streams: a broken or hostile host must not exhaust the server's memory.
// The server's commands print a few kilobytes.
const MaxCommandOutput = 16 << 20

// cappedBuffer keeps up to MaxCommandOutput bytes and reports the first
// write past them on over (then drops the rest). It has no ReadFrom, so
// that copies into it go through Write.
type cappedBuffer struct {
	buf      bytes.Buffer
	name     string
	over     chan<- string
	overflow bool
}

// Write implements io.Writer.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.overflow {
		return len(p), nil
	}
	if room := MaxCommandOutput - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:room])
		b.overflow = true
		b.over <- b.name
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Bytes returns what was kept.
func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

// abbreviate shortens a command line for messages.
func abbreviate(cmd string) string {
	cmd = strings.Join(strings.Fields(cmd), " ")
	if len(cmd) > 80 {
		return cmd[:77] + "..."
	}
	return cmd
}

// tail returns the last n lines of b, trimmed.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// observedTransport reports failed agent requests to an Observer.
type observedTransport struct {
	next  http.RoundTripper
	obs   Observer
	agent string
}

func (t observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil && req.Context().Err() == nil:
		t.obs.AgentError(t.agent, "unreachable")
	case err == nil && resp.StatusCode >= 500:
		t.obs.AgentError(t.agent, "http_5xx")
	}
	return resp, err
}
