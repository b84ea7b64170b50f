// Package scaletest runs the server's pipelines against thousands of hollow
// hosts in one test process. A hollow host is the real shim (its HTTP
// handlers and task lifecycle) behind an in-process SSH server, with an
// executor that starts the real runner in-process and runs job commands by
// a tiny script interpreter instead of containers or processes. The server
// reaches hollow hosts through its usual SSH pool, agent clients and
// pipelines: only the pool's TCP dial is replaced (server.Options.SSHDial).
// Servers in other processes reach them through a TCP gateway (gateway.go),
// which lets the chaos test kill server replicas while the hosts live on.
//
// Hollow hosts are for scale tests only; every other test uses real hosts.
package scaletest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os/user"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/backends/agent/hostinfo"
	"github.com/dstackgo/dstack/backends/agent/shim"
)

// Facts of every hollow host: a CPU machine large enough for the default
// task resources (upstream's 100GB.. disk).
var hollowFacts = hostinfo.Facts{CPUs: 4, MemoryBytes: 16 << 30, DiskBytes: 200 << 30, Addresses: []string{}}

// Hosts serves hollow hosts at made-up addresses (10.200.0.0/16 and up),
// all behind one SSH host key and one accepted client key.
type Hosts struct {
	// ClientKey is the private key (OpenSSH PEM) the hosts accept;
	// ClientPublic is its authorized_keys line.
	ClientKey    []byte
	ClientPublic string
	// User is the hosts' SSH user: this process's user, since the shim
	// adds the tasks' keys to that user's authorized_keys.
	User string

	log     *slog.Logger
	dir     string
	sshConf *ssh.ServerConfig
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	hosts map[string]*Host // by "ip:22"
	next  int

	doubles atomic.Int64 // task creations for a job that already had a live task on the host
	dials   atomic.Int64

	startMu sync.Mutex
	starts  map[string]time.Time // job name → when its commands started
}

// NewHosts returns an empty set of hollow hosts, stopped at cleanup.
func NewHosts(tb testing.TB, log *slog.Logger) *Hosts {
	tb.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		tb.Fatal(err)
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		tb.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		tb.Fatal(err)
	}
	accepted := string(sshPub.Marshal())
	conf := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) != accepted {
				return nil, fmt.Errorf("unknown key")
			}
			return &ssh.Permissions{}, nil
		},
		ServerVersion: "SSH-2.0-hollow",
	}
	conf.AddHostKey(hostSigner)
	me, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &Hosts{User: me.Username,
		ClientKey: pem.EncodeToMemory(block), ClientPublic: string(ssh.MarshalAuthorizedKey(sshPub)),
		log: log, dir: tb.TempDir(), sshConf: conf, ctx: ctx, cancel: cancel, hosts: map[string]*Host{},
		starts: map[string]time.Time{},
	}
	tb.Cleanup(hs.close)
	return hs
}

// Add starts n more hollow hosts and returns them.
func (hs *Hosts) Add(n int) ([]*Host, error) {
	out := make([]*Host, 0, n)
	for range n {
		hs.mu.Lock()
		i := hs.next
		hs.next++
		hs.mu.Unlock()
		ip := fmt.Sprintf("10.%d.%d.%d", 200+i/65536, i/256%256, i%256)
		h, err := hs.start(ip)
		if err != nil {
			return out, err
		}
		out = append(out, h)
	}
	return out, nil
}

func (hs *Hosts) start(ip string) (*Host, error) {
	h := &Host{IP: ip, hosts: hs, ports: map[int]*listener{}, nextPort: 20000, tasks: map[string]*hollowTask{},
		live: map[string]int{}}
	home := filepath.Join(hs.dir, ip)
	me, err := user.Current()
	if err != nil {
		return nil, err
	}
	// The tasks' keys go to an authorized_keys of the host's own, never to
	// the test machine's user's.
	me.HomeDir = filepath.Join(home, "user")
	lookup := func(string) (*user.User, error) { return me, nil }
	s, err := shim.NewWith(shim.Config{HomeDir: home, Version: "hollow", LookupUser: lookup}, hollowFacts, h, hs.log)
	if err != nil {
		return nil, fmt.Errorf("hollow host %s: %w", ip, err)
	}
	ln := newListener(shim.DefaultHTTPPort)
	h.ports[shim.DefaultHTTPPort] = ln
	hs.wg.Add(1)
	go func() {
		defer hs.wg.Done()
		if err := s.Serve(hs.ctx, ln); err != nil {
			hs.log.Error("hollow shim stopped", "host", ip, "err", err)
		}
	}()
	hs.mu.Lock()
	hs.hosts[net.JoinHostPort(ip, "22")] = h
	hs.mu.Unlock()
	return h, nil
}

// Hosts returns the hollow hosts started so far.
func (hs *Hosts) Hosts() []*Host {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	out := make([]*Host, 0, len(hs.hosts))
	for _, h := range hs.hosts {
		out = append(out, h)
	}
	return out
}

// DoubleSubmissions counts the tasks created for a job that had a live task
// on the same host already (a job submitted twice).
func (hs *Hosts) DoubleSubmissions() int64 { return hs.doubles.Load() }

// Started returns when the commands of the job named name (its latest
// submission) started on a hollow host.
func (hs *Hosts) Started(name string) (time.Time, bool) {
	hs.startMu.Lock()
	defer hs.startMu.Unlock()
	t, ok := hs.starts[name]
	return t, ok
}

func (hs *Hosts) started(name string) {
	hs.startMu.Lock()
	hs.starts[name] = time.Now()
	hs.startMu.Unlock()
}

// Dials counts the SSH connections made to hollow hosts.
func (hs *Hosts) Dials() int64 { return hs.dials.Load() }

// Dial is the server's SSH dial (server.Options.SSHDial): it connects to
// the hollow host at addr through an in-memory pipe; an unknown address is
// refused as a host without sshd would.
func (hs *Hosts) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	hs.mu.Lock()
	h, ok := hs.hosts[addr]
	hs.mu.Unlock()
	if !ok || hs.ctx.Err() != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	if h.down.Load() {
		<-ctx.Done() // a host cut off: the dial times out
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	client, server := pipe()
	hs.dials.Add(1)
	hs.wg.Add(1)
	go func() {
		defer hs.wg.Done()
		h.serveSSH(server)
	}()
	return client, nil
}

func (hs *Hosts) close() {
	hs.cancel()
	hs.mu.Lock()
	for _, h := range hs.hosts {
		h.closeListeners()
	}
	hs.mu.Unlock()
	hs.wg.Wait()
}

// Host is one hollow host: a shim, the runners of its tasks and the SSH
// connections to it.
type Host struct {
	IP    string
	hosts *Hosts
	down  atomic.Bool
	hang  atomic.Bool

	mu       sync.Mutex
	ports    map[int]*listener // 10998: the shim; others: runners
	nextPort int
	conns    []*ssh.ServerConn
	tasks    map[string]*hollowTask // by task id
	live     map[string]int         // live tasks per job name
}

// SetDown cuts the host off (true: dials hang, open connections close) or
// brings it back.
func (h *Host) SetDown(down bool) {
	h.down.Store(down)
	if !down {
		return
	}
	h.mu.Lock()
	conns := h.conns
	h.conns = nil
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Hang makes the host's agents stall in the middle of every answer (true):
// requests are read, and nothing is written back until Hang(false).
func (h *Host) Hang(hang bool) { h.hang.Store(hang) }

// LiveTasks returns the number of tasks created and not yet removed.
func (h *Host) LiveTasks() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tasks)
}

// serveSSH serves one SSH connection: direct-tcpip channels to 127.0.0.1
// reach the shim or a runner by port; nothing else is served.
func (h *Host) serveSSH(nc net.Conn) {
	sc, chans, reqs, err := ssh.NewServerConn(nc, h.hosts.sshConf)
	if err != nil {
		_ = nc.Close()
		return
	}
	h.mu.Lock()
	h.conns = append(h.conns, sc)
	h.mu.Unlock()
	defer h.forget(sc)
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "direct-tcpip" {
			_ = nch.Reject(ssh.UnknownChannelType, "a hollow host serves only tunnels to its agents")
			continue
		}
		var dest struct {
			Host       string
			Port       uint32
			OriginAddr string
			OriginPort uint32
		}
		if err := ssh.Unmarshal(nch.ExtraData(), &dest); err != nil {
			_ = nch.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
			continue
		}
		h.mu.Lock()
		ln := h.ports[int(dest.Port)]
		h.mu.Unlock()
		if ln == nil || (dest.Host != "127.0.0.1" && dest.Host != "localhost") {
			_ = nch.Reject(ssh.ConnectionFailed, "connection refused")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go ssh.DiscardRequests(chReqs)
		if !ln.push(&channelConn{Channel: ch, port: int(dest.Port), host: h}) {
			_ = ch.Close()
		}
	}
}

func (h *Host) forget(sc *ssh.ServerConn) {
	_ = sc.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range h.conns {
		if c == sc {
			h.conns = append(h.conns[:i], h.conns[i+1:]...)
			break
		}
	}
}

func (h *Host) closeListeners() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ln := range h.ports {
		_ = ln.Close()
	}
	for _, c := range h.conns {
		_ = c.Close()
	}
}

// channelConn is a tunnelled TCP connection as the agent's HTTP server
// sees it.
type channelConn struct {
	ssh.Channel
	port int
	host *Host
}

// Write waits while the host hangs.
func (c *channelConn) Write(p []byte) (int, error) {
	for c.host.hang.Load() && c.host.hosts.ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	return c.Channel.Write(p)
}

func (c *channelConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.port}
}
func (c *channelConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *channelConn) SetDeadline(t time.Time) error      { return nil }
func (c *channelConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *channelConn) SetWriteDeadline(t time.Time) error { return nil }

// listener hands tunnelled connections to an agent's HTTP server.
type listener struct {
	port  int
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newListener(port int) *listener {
	return &listener{port: port, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *listener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// Accept implements net.Listener.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *listener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: l.port}
}

// Census is what the hollow agents hold at one moment.
type Census struct {
	// Jobs counts live tasks per job name, over every host.
	Jobs map[string]int
	// Busiest is the largest number of live tasks on one host, and
	// BusiestHost that host.
	Busiest     int
	BusiestHost string
}

// Census counts the live tasks of every hollow host.
func (hs *Hosts) Census() Census {
	c := Census{Jobs: map[string]int{}}
	for _, h := range hs.Hosts() {
		h.mu.Lock()
		for job, n := range h.live {
			c.Jobs[job] += n
		}
		if len(h.tasks) > c.Busiest {
			c.Busiest, c.BusiestHost = len(h.tasks), h.IP
		}
		h.mu.Unlock()
	}
	return c
}
