package sshfleet

import (
	"errors"
	"fmt"
	"time"
)

// keepalive probes the connection every interval and closes it when a
// probe fails or stalls.
func (c *Conn) keepalive() {
	tick := time.NewTicker(c.opts.KeepaliveInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			if err := c.ping(); err != nil {
				c.log.Warn("SSH connection dead, closing", "err", err)
				c.Close()
				return
			}
		}
	}
}

// ping sends keepalive@openssh.com (any reply, even a failure, is a sign
// of life) bounded by KeepaliveTimeout.
func (c *Conn) ping() error {
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		errc <- err
	}()
	timer := time.NewTimer(c.opts.KeepaliveTimeout)
	defer timer.Stop()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("keepalive: %w", err)
		}
		c.lastOK.Store(time.Now().UnixNano())
		return nil
	case <-timer.C:
		return fmt.Errorf("keepalive: no answer in %s: %w", c.opts.KeepaliveTimeout, errTimeout)
	case <-c.done:
		return errors.New("keepalive: connection closed")
	}
}

// alive reports whether the connection can be reused: not closed, and
// either recently seen alive or answering a probe now.
func (c *Conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
	}
	if time.Since(time.Unix(0, c.lastOK.Load())) < c.opts.KeepaliveInterval {
		return true
	}
	if err := c.ping(); err != nil {
		c.Close()
		return false
	}
	return true
}
