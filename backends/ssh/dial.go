package ssh

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is sent in the SSH banner.
const clientVersion = "SSH-2.0-dstack"

// dial connects to t, through its jump chain, and returns the client for t
// and the clients of the jump hosts (outermost first).
func (p *Pool) dial(ctx context.Context, t Target) (*ssh.Client, []*ssh.Client, error) {
	timeout := p.opts.DialTimeout
	var (
		netConn net.Conn
		jumps   []*ssh.Client
		err     error
	)
	if t.ProxyJump != nil {
		jc, jj, jerr := p.dial(ctx, *t.ProxyJump)
		if jerr != nil {
			return nil, nil, &Error{Kind: KindProxyJump, Err: jerr,
				Msg: fmt.Sprintf("cannot connect to %s through proxy jump %s: %v", t.Addr(), t.ProxyJump.Addr(), jerr)}
		}
		jumps = append(jj, jc)
		dctx, cancel := context.WithTimeout(ctx, timeout)
		netConn, err = jc.DialContext(dctx, "tcp", t.Addr())
		cancel()
		if err != nil {
			closeClients(jumps)
			return nil, nil, classifyDial(t, t.ProxyJump, timeout, err)
		}
	} else {
		d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		netConn, err = d.DialContext(ctx, "tcp", t.Addr())
		if err != nil {
			return nil, nil, classifyDial(t, nil, timeout, err)
		}
	}
	client, err := p.handshake(ctx, netConn, t)
	if err != nil {
		closeClients(jumps)
		return nil, nil, classifyDial(t, t.ProxyJump, timeout, err)
	}
	return client, jumps, nil
}

// handshake runs the SSH handshake on conn, bounded by the dial timeout and
// ctx (TCP connects are bounded by the dialer; a host that accepts and then
// stalls is bounded here).
func (p *Pool) handshake(ctx context.Context, conn net.Conn, t Target) (*ssh.Client, error) {
	signer, err := ParsePrivateKey(t.PrivateKey)
	if err != nil {
		conn.Close()
		return nil, err
	}
	algos, err := hostKeyAlgorithms(p.opts.HostKeys, t.Addr())
	if err != nil {
		conn.Close()
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   hostKeyCallback(p.opts.HostKeys, t.Addr(), p.log),
		HostKeyAlgorithms: algos,
		ClientVersion:     clientVersion,
		Timeout:           p.opts.DialTimeout,
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(p.opts.DialTimeout, func() { timedOut.Store(true); conn.Close() })
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr(), cfg)
	timerStopped, ctxStopped := timer.Stop(), stop()
	switch {
	case err == nil && timerStopped && ctxStopped:
		return ssh.NewClient(c, chans, reqs), nil
	case err == nil:
		c.Close()
	default:
		conn.Close()
	}
	if timedOut.Load() {
		return nil, fmt.Errorf("SSH handshake: %w", errTimeout)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("SSH handshake: %w", ctx.Err())
	}
	return nil, err
}

// closeClients closes clients innermost first.
func closeClients(cs []*ssh.Client) {
	for i := len(cs) - 1; i >= 0; i-- {
		_ = cs[i].Close()
	}
}
