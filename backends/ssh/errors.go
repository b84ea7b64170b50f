package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// Kind classifies SSH and deployment failures.
type Kind string

// Failure kinds reported by KindOf.
const (
	KindInvalidTarget   Kind = "invalid_target"   // missing host/user, bad port
	KindInvalidKey      Kind = "invalid_key"      // unparseable, encrypted or unsupported key
	KindAuth            Kind = "auth_failed"      // the server refused the key
	KindHostKeyChanged  Kind = "host_key_changed" // the pinned host key does not match
	KindUnreachable     Kind = "unreachable"      // refused, no route, timeout, DNS
	KindProxyJump       Kind = "proxy_jump"       // the jump host failed
	KindConnection      Kind = "connection"       // handshake failure, connection lost
	KindCommand         Kind = "command"          // a remote command failed
	KindUnsupportedHost Kind = "unsupported_host" // OS/architecture mismatch, missing tools
	KindAgent           Kind = "agent"            // the shim did not start or answer
)

// Error is a classified failure. Msg is complete and meant for operators
// (instance status messages); Err is the underlying cause for errors.Is/As.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the outermost *Error in err's chain (a
// *CommandError counts as KindCommand), or "" for unclassified errors.
func KindOf(err error) Kind {
	var e *Error
	var ce *CommandError
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.As(err, &ce):
		return KindCommand
	}
	return ""
}

// CommandError reports a remote command that ran and failed.
type CommandError struct {
	Cmd        string // abbreviated command line
	ExitStatus int    // -1 when the command ended without a status
	Signal     string // signal name when killed by a signal
	Stderr     string // last lines of stderr
}

// Error describes the command, its status and the tail of its stderr.
func (e *CommandError) Error() string {
	status := fmt.Sprintf("exited with status %d", e.ExitStatus)
	switch {
	case e.Signal != "":
		status = "was killed by signal " + e.Signal
	case e.ExitStatus < 0:
		status = "ended without an exit status (connection lost?)"
	}
	msg := fmt.Sprintf("remote command `%s` %s", e.Cmd, status)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// errTimeout marks our own dial and handshake deadlines.
var errTimeout = errors.New("timed out")

// classifyDial turns a failure to connect to t into an *Error. via is the
// jump host the connection went through, if any; timeout is the dial limit.
func classifyDial(t Target, via *Target, timeout time.Duration, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	var hk *HostKeyChangedError
	if errors.As(err, &hk) {
		return &Error{Kind: KindHostKeyChanged, Msg: hk.Error(), Err: err}
	}
	if isAuthFailure(err) {
		fp := "configured for it"
		if s, perr := ParsePrivateKey(t.PrivateKey); perr == nil {
			fp = ssh.FingerprintSHA256(s.PublicKey()) + " (" + s.PublicKey().Type() + ")"
		}
		return &Error{Kind: KindAuth, Err: err, Msg: fmt.Sprintf(
			"SSH authentication failed for %s@%s: the server refused the key %s; "+
				"check that its public key is in ~%s/.ssh/authorized_keys on the host and that the user exists",
			t.User, t.Addr(), fp, t.User)}
	}
	from := ""
	if via != nil {
		from = " from proxy jump " + via.Addr()
	}
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == ssh.Prohibited {
		return &Error{Kind: KindProxyJump, Err: err, Msg: fmt.Sprintf(
			"proxy jump %s refused to forward the connection to %s (%s); enable AllowTcpForwarding in its sshd_config",
			via, t.Addr(), oce.Message)}
	}
	if reason, ok := reachReason(err, timeout); ok {
		return &Error{Kind: KindUnreachable, Err: err, Msg: fmt.Sprintf("cannot reach %s%s: %s", t.Addr(), from, reason)}
	}
	return &Error{Kind: KindConnection, Err: err, Msg: fmt.Sprintf("SSH connection to %s@%s%s failed: %s",
		t.User, t.Addr(), from, handshakeReason(err))}
}

// isAuthFailure reports x/crypto's "unable to authenticate" (it has no type).
func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain")
}

// reachReason explains network-level failures; ok is false for others.
func reachReason(err error, timeout time.Duration) (reason string, ok bool) {
	var dnsErr *net.DNSError
	var oce *ssh.OpenChannelError
	var nerr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is sshd running and listening on this port?)", true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host", true
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable", true
	case errors.As(err, &dnsErr):
		return "cannot resolve host name " + dnsErr.Name, true
	case errors.As(err, &oce) && oce.Reason == ssh.ConnectionFailed:
		return "connection failed (" + strings.ToLower(oce.Message) + ")", true
	case errors.Is(err, errTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Sprintf("connection timed out after %s (host down, firewalled or cut off?)", timeout), true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return opErr.Err.Error(), true
	}
	return "", false
}

// handshakeReason explains a failure after the TCP connection was made.
func handshakeReason(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the server closed the connection during the SSH handshake (not an SSH server, MaxStartups, or AllowUsers/DenyUsers?)"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "ssh: handshake failed: "), "ssh: ")
}

// lostConnection classifies a failure of an established connection.
func lostConnection(t Target, op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &Error{Kind: KindConnection, Err: err, Msg: fmt.Sprintf("SSH connection to %s lost (%s): %v", t, op, err)}
}
