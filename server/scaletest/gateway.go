package scaletest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The gateway lets servers in other processes reach the hollow hosts of
// this one: a server process dials the gateway over TCP and names the host
// it wants in one line ("10.200.0.7:22\n"); the rest of the connection is
// that host's SSH. Hollow hosts thus outlive the server processes that
// drive them (a replica killed with -9 and started again finds its hosts'
// tasks as it left them), and the test process observes every agent.

// ServeGateway serves the hollow hosts on ln until ln is closed or the
// hosts stop.
func (hs *Hosts) ServeGateway(ln net.Listener) error {
	go func() {
		<-hs.ctx.Done()
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if hs.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept gateway connection: %w", err)
		}
		hs.wg.Add(1)
		go func() {
			defer hs.wg.Done()
			hs.serveGatewayConn(c)
		}()
	}
}

func (hs *Hosts) serveGatewayConn(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	addr, err := readLine(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		return
	}
	hs.mu.Lock()
	h, ok := hs.hosts[addr]
	hs.mu.Unlock()
	if !ok || h.down.Load() {
		_ = c.Close()
		return
	}
	hs.dials.Add(1)
	h.serveSSH(c)
}

// readLine reads up to a newline one byte at a time, so that nothing of the
// SSH stream behind it is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	one := make([]byte, 1)
	for b.Len() < 256 {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(one[0])
	}
	return "", errors.New("gateway: the host line is too long")
}

// GatewayDial is a server's SSH dial (server.Options.SSHDial) through the
// gateway at gw.
func GatewayDial(gw string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", gw)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(c, addr+"\n"); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("gateway: name host %s: %w", addr, err)
		}
		return c, nil
	}
}
