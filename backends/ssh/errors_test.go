package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestClassifyDial(t *testing.T) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	key := pemOf(t, k, "")
	target := Target{Host: "10.0.0.5", User: "ubuntu", PrivateKey: key}
	jump := &Target{Host: "bastion", User: "j", PrivateKey: key}
	dialErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: errno}}
	}
	hk := &HostKeyChangedError{Host: "10.0.0.5", Old: "SHA256:old", New: "SHA256:new"}
	for _, tc := range []struct {
		name string
		via  *Target
		err  error
		kind Kind
		msg  string
	}{
		{"refused", nil, dialErr(syscall.ECONNREFUSED), KindUnreachable, "cannot reach 10.0.0.5:22: connection refused"},
		{"no route", nil, dialErr(syscall.EHOSTUNREACH), KindUnreachable, "cannot reach 10.0.0.5:22: no route to host"},
		{"net unreachable", nil, dialErr(syscall.ENETUNREACH), KindUnreachable, "cannot reach 10.0.0.5:22: network is unreachable"},
		{"dial timeout", nil, &net.OpError{Op: "dial", Err: timeoutErr{}}, KindUnreachable, "cannot reach 10.0.0.5:22: connection timed out after 10s"},
		{"handshake timeout", nil, fmt.Errorf("SSH handshake: %w", errTimeout), KindUnreachable, "connection timed out after 10s"},
		{"ctx deadline", nil, context.DeadlineExceeded, KindUnreachable, "timed out"},
		{"dns", nil, &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nohost", Err: "no such host"}}, KindUnreachable, "cannot resolve host name nohost"},
		{"other dial error", nil, dialErr(syscall.EINVAL), KindUnreachable, "cannot reach 10.0.0.5:22: connect: invalid argument"},
		{"auth", nil, errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"),
			KindAuth, "SSH authentication failed for ubuntu@10.0.0.5:22: the server refused the key SHA256:"},
		{"host key", nil, fmt.Errorf("ssh: handshake failed: %w", hk), KindHostKeyChanged, "the SSH host key of 10.0.0.5 has changed"},
		{"eof", nil, fmt.Errorf("ssh: handshake failed: %w", io.EOF), KindConnection, "closed the connection during the SSH handshake"},
		{"via jump refused", jump, &ssh.OpenChannelError{Reason: ssh.ConnectionFailed, Message: "Connection refused"},
			KindUnreachable, "cannot reach 10.0.0.5:22 from proxy jump bastion:22: connection failed (connection refused)"},
		{"jump forbids forwarding", jump, &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "administratively prohibited"},
			KindProxyJump, "proxy jump j@bastion:22 refused to forward the connection to 10.0.0.5:22"},
		{"already classified", nil, &Error{Kind: KindProxyJump, Msg: "x"}, KindProxyJump, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classifyDial(target, tc.via, 10*time.Second, tc.err)
			require.Equal(t, tc.kind, KindOf(err), "kind of %v", err)
			require.ErrorContains(t, err, tc.msg)
			require.ErrorIs(t, err, tc.err, "cause not kept: %v", err)
		})
	}
	err := classifyDial(target, nil, time.Second, fmt.Errorf("x: %w", hk))
	require.ErrorAs(t, err, &hk, "HostKeyChangedError not reachable with errors.As")
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestCommandError(t *testing.T) {
	for _, tc := range []struct {
		err  *CommandError
		want string
	}{
		{&CommandError{Cmd: "false", ExitStatus: 1}, "remote command `false` exited with status 1"},
		{&CommandError{Cmd: "x", ExitStatus: 2, Stderr: "boom"}, "remote command `x` exited with status 2: boom"},
		{&CommandError{Cmd: "x", Signal: "KILL"}, "remote command `x` was killed by signal KILL"},
		{&CommandError{Cmd: "x", ExitStatus: -1}, "ended without an exit status"},
	} {
		assert.ErrorContains(t, tc.err, tc.want)
		assert.True(t, KindOf(fmt.Errorf("wrapped: %w", tc.err)) == KindCommand, "KindOf(CommandError) != KindCommand")
	}
	a := abbreviate(strings.Repeat("x ", 100))
	assert.Len(t, a, 80, "abbreviate")
	assert.True(t, strings.HasSuffix(a, "..."), "abbreviate: %q", a)
	assert.Equal(t, "3\n4\n5\n6\n7", tail([]byte("1\n2\n3\n4\n5\n6\n7\n"), 5), "tail")
}

func TestHostKeyStoreCallback(t *testing.T) {
	pub1, _, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	k1, _ := ssh.NewPublicKey(pub1)
	k2, _ := ssh.NewPublicKey(pub2)
	store := NewMemoryHostKeyStore()
	cb := hostKeyCallback(store, "10.0.0.5:2222", discardLogger())
	algos, _ := hostKeyAlgorithms(store, "10.0.0.5:2222")
	require.Len(t, algos, len(plainHostKeyAlgos), "unpinned algorithms")
	require.NoError(t, cb("", nil, k1))
	_, ok, _ := store.Get("[10.0.0.5]:2222")
	require.True(t, ok, "not pinned under the known_hosts-style id")
	algos, _ = hostKeyAlgorithms(store, "10.0.0.5:2222")
	require.Equal(t, []string{ssh.KeyAlgoED25519}, algos, "pinned algorithms")
	require.NoError(t, cb("", nil, k1))
	var hk *HostKeyChangedError
	err := cb("", nil, k2)
	require.ErrorAs(t, err, &hk, "changed key")
	require.Equal(t, ssh.FingerprintSHA256(k1), hk.Old, "changed key: old fingerprint")
	require.Equal(t, ssh.FingerprintSHA256(k2), hk.New, "changed key: new fingerprint")

	failing := failingStore{}
	require.Error(t, hostKeyCallback(failing, "h:22", discardLogger())("", nil, k1), "a store error must fail the connection, not pin")
}

type failingStore struct{}

func (failingStore) Get(string) ([]byte, bool, error) { return nil, false, errors.New("db down") }
func (failingStore) Pin(string, []byte) error         { return errors.New("db down") }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
