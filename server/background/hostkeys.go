package background

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
)

// HostKeys pins SSH host keys in the database, so every replica and every
// restart checks hosts against the key seen first.
type HostKeys struct {
	DB *db.DB
}

func splitHostPort(id string) (string, int) {
	host, port, err := net.SplitHostPort(id)
	if err != nil {
		return id, 22
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return id, 22
	}
	return host, n
}

// Get implements sshfleet.HostKeyStore.
func (s HostKeys) Get(hostport string) ([]byte, bool, error) {
	host, port := splitHostPort(hostport)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := db.GetHostKey(ctx, s.DB, host, port)
	if errors.Is(err, db.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	b, err := base64.StdEncoding.DecodeString(k.Key)
	return b, err == nil, err
}

// Pin implements sshfleet.HostKeyStore. The first key pinned wins: when
// another connection (or replica) pinned a different key meanwhile, this
// one is refused as a changed key rather than accepted unchecked.
func (s HostKeys) Pin(hostport string, key []byte) error {
	host, port := splitHostPort(hostport)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PinHostKey(ctx, s.DB, host, port, base64.StdEncoding.EncodeToString(key), time.Now().UTC()); err != nil {
		return err
	}
	pinned, ok, err := s.Get(hostport)
	if err != nil || !ok || bytes.Equal(pinned, key) {
		return err
	}
	e := &sshfleet.HostKeyChangedError{Host: hostport, Old: "an unparseable key", New: "an unparseable key", NewKey: key}
	if pk, err := ssh.ParsePublicKey(pinned); err == nil {
		e.Old = ssh.FingerprintSHA256(pk)
	}
	if pk, err := ssh.ParsePublicKey(key); err == nil {
		e.New = ssh.FingerprintSHA256(pk)
	}
	return e
}

// Forget drops the pinned key of host:port when the instance instanceID
// leaves, unless another live instance reaches that address.
func (s HostKeys) Forget(ctx context.Context, host string, port int, address, instanceID string) error {
	return db.ForgetHostKey(ctx, s.DB, host, port, address, instanceID)
}
