package ssh

import (
	"context"
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
			if err := c.ping(context.Background()); err != nil {
				c.log.Warn("SSH connection dead, closing", "err", err)
				c.Close()
				return
			}
		}
	}
}

// ping sends keepalive@openssh.com (any reply, even a failure, is a sign
// of life) bounded by KeepaliveTimeout and ctx.
func (c *Conn) ping(ctx context.Context) error {
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
	case <-ctx.Done():
		return fmt.Errorf("keepalive: %w", ctx.Err())
	}
}

// alive reports whether the connection can be reused: not closed, and
// either recently seen alive or answering a probe now. The probe is bounded
// by ctx too: when ctx ends first, the connection is left alone and ctx's
// error returned (a caller with a short deadline must not wait out
// KeepaliveTimeout on a stalled link).
func (c *Conn) alive(ctx context.Context) (bool, error) {
	select {
	case <-c.done:
		return false, nil
	default:
	}
	if time.Since(time.Unix(0, c.lastOK.Load())) < c.opts.KeepaliveInterval {
		return true, nil
	}
	if err := c.ping(ctx); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.Close()
		return false, nil
	}
	return true, nil
}
