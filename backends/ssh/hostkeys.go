package ssh

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyStore keeps the pinned host keys, keyed by "host" for port 22 and
// "[host]:port" otherwise (known_hosts style, see HostKeyID). Keys are in SSH
// wire format (ssh.PublicKey.Marshal). The server implements it on its
// database; MemoryHostKeyStore is the in-process implementation.
type HostKeyStore interface {
	// Get returns the pinned key; ok is false when none is pinned. An error
	// fails the connection (it is never treated as "not pinned").
	Get(hostport string) (key []byte, ok bool, err error)
	// Pin records the key seen on the first connection.
	Pin(hostport string, key []byte) error
}

// HostKeyID returns the store key for an address "host:port".
func HostKeyID(addr string) string { return knownhosts.Normalize(addr) }

// MemoryHostKeyStore is a HostKeyStore in memory, safe for concurrent use.
type MemoryHostKeyStore struct {
	mu   sync.Mutex
	keys map[string][]byte
}

// NewMemoryHostKeyStore returns an empty store.
func NewMemoryHostKeyStore() *MemoryHostKeyStore {
	return &MemoryHostKeyStore{keys: map[string][]byte{}}
}

// Get implements HostKeyStore.
func (s *MemoryHostKeyStore) Get(hostport string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[hostport]
	return bytes.Clone(k), ok, nil
}

// Pin implements HostKeyStore.
func (s *MemoryHostKeyStore) Pin(hostport string, key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[hostport] = bytes.Clone(key)
	return nil
}

// Forget removes a pinned key, so that the next connection pins the key the
// host presents then (how an operator accepts a changed key).
func (s *MemoryHostKeyStore) Forget(hostport string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, hostport)
}

// HostKeyChangedError reports a host whose key differs from the pinned one.
type HostKeyChangedError struct {
	Host   string // store key, as from HostKeyID
	Old    string // SHA256 fingerprint of the pinned key
	New    string // SHA256 fingerprint of the presented key
	NewKey []byte // presented key, wire format, to pin it once verified
}

// Error tells the operator what happened and how to accept the new key.
func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("the SSH host key of %s has changed: dstack pinned %s on the first connection, "+
		"the host now presents %s. The host may have been reinstalled or had its keys regenerated, "+
		"or someone may be intercepting the connection, so dstack refuses to connect. "+
		"If the change is expected, check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), "+
		"then reset the pinned key of %s (remove the host from the fleet and add it again) to accept the new key",
		e.Host, e.Old, e.New, e.Host)
}

// plainHostKeyAlgos are offered before a key is pinned: plain keys only, no
// certificates (a renewed certificate would look like a changed key).
var plainHostKeyAlgos = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
}

// hostKeyAlgorithms returns the algorithms to negotiate for addr: the pinned
// key's type once pinned, so a host with several keys always shows the same.
func hostKeyAlgorithms(store HostKeyStore, addr string) ([]string, error) {
	pinned, ok, err := store.Get(HostKeyID(addr))
	if err != nil {
		return nil, fmt.Errorf("read pinned host key of %s: %w", addr, err)
	}
	if !ok {
		return plainHostKeyAlgos, nil
	}
	pk, err := ssh.ParsePublicKey(pinned)
	if err != nil {
		return plainHostKeyAlgos, nil // the callback reports the mismatch
	}
	if pk.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}, nil
	}
	return []string{pk.Type()}, nil
}

// hostKeyCallback pins the key on first use and rejects a different key
// afterwards with a *HostKeyChangedError.
func hostKeyCallback(store HostKeyStore, addr string, log *slog.Logger) ssh.HostKeyCallback {
	id := HostKeyID(addr)
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		pinned, ok, err := store.Get(id)
		if err != nil {
			return fmt.Errorf("read pinned host key of %s: %w", id, err)
		}
		presented := key.Marshal()
		if !ok {
			log.Info("pinning SSH host key on first use", "host", id, "fingerprint", ssh.FingerprintSHA256(key))
			if err := store.Pin(id, presented); err != nil {
				return fmt.Errorf("pin host key of %s: %w", id, err)
			}
			return nil
		}
		if bytes.Equal(pinned, presented) {
			return nil
		}
		old := "an unparseable key"
		if pk, err := ssh.ParsePublicKey(pinned); err == nil {
			old = ssh.FingerprintSHA256(pk)
		}
		return &HostKeyChangedError{Host: id, Old: old, New: ssh.FingerprintSHA256(key), NewKey: presented}
	}
}
