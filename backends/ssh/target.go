package ssh

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// DefaultPort is the SSH port used when Target.Port is zero.
const DefaultPort = 22

// Target is an SSH endpoint: a host of an SSH fleet, or the jump host in
// front of one. PrivateKey is an unencrypted PEM private key (RSA, ECDSA or
// Ed25519); it is never logged.
type Target struct {
	Host       string
	Port       int
	User       string
	PrivateKey []byte
	// ProxyJump, when set, is connected to first and the connection to this
	// target is tunnelled through it (like OpenSSH's ProxyJump).
	ProxyJump *Target
}

// Addr returns host:port.
func (t Target) Addr() string {
	port := t.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(port))
}

// String returns user@host:port, followed by the jump chain; it is used in
// log lines and error messages and never contains key material.
func (t Target) String() string {
	s := t.User + "@" + t.Addr()
	if t.ProxyJump != nil {
		s += " via " + t.ProxyJump.String()
	}
	return s
}

// poolKey identifies the connection: every hop's user, address and a digest
// of its key, so that a changed key opens a new connection.
func (t Target) poolKey() string {
	sum := sha256.Sum256(t.PrivateKey)
	k := fmt.Sprintf("%s@%s#%x", t.User, t.Addr(), sum[:8])
	if t.ProxyJump != nil {
		k += ">" + t.ProxyJump.poolKey()
	}
	return k
}

// validate checks the fields needed to connect, for every hop.
func (t Target) validate() error {
	switch {
	case strings.TrimSpace(t.Host) == "":
		return &Error{Kind: KindInvalidTarget, Msg: "SSH target has no host"}
	case t.User == "":
		return &Error{Kind: KindInvalidTarget, Msg: fmt.Sprintf("SSH target %s has no user", t.Addr())}
	case t.Port < 0 || t.Port > 65535:
		return &Error{Kind: KindInvalidTarget, Msg: fmt.Sprintf("SSH target %s has an invalid port %d", t.Host, t.Port)}
	}
	if _, err := ParsePrivateKey(t.PrivateKey); err != nil {
		return fmt.Errorf("key for %s: %w", t, err)
	}
	if t.ProxyJump != nil {
		if err := t.ProxyJump.validate(); err != nil {
			return fmt.Errorf("proxy jump: %w", err)
		}
	}
	return nil
}

// supportedKeyTypes are the public key types accepted for client keys.
var supportedKeyTypes = map[string]bool{
	ssh.KeyAlgoRSA:      true,
	ssh.KeyAlgoECDSA256: true,
	ssh.KeyAlgoECDSA384: true,
	ssh.KeyAlgoECDSA521: true,
	ssh.KeyAlgoED25519:  true,
}

// ParsePrivateKey parses an unencrypted PEM private key (OpenSSH, PKCS#1,
// PKCS#8 or SEC1) of type RSA, ECDSA or Ed25519. Errors are *Error of kind
// KindInvalidKey and never contain key material.
func ParsePrivateKey(pemBytes []byte) (ssh.Signer, error) {
	if len(bytes.TrimSpace(pemBytes)) == 0 {
		return nil, &Error{Kind: KindInvalidKey, Msg: "no SSH private key given"}
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, &Error{Kind: KindInvalidKey, Err: err, Msg: "the SSH private key is encrypted with a passphrase; " +
				"dstack needs an unencrypted key (remove the passphrase from a copy with `ssh-keygen -p -N '' -f <copy>`)"}
		}
		return nil, &Error{Kind: KindInvalidKey, Err: err, Msg: "invalid SSH private key: " + keyParseReason(err)}
	}
	if typ := signer.PublicKey().Type(); !supportedKeyTypes[typ] {
		return nil, &Error{Kind: KindInvalidKey,
			Msg: fmt.Sprintf("unsupported SSH key type %s: use an RSA, ECDSA or Ed25519 key", typ)}
	}
	return signer, nil
}

// keyParseReason shortens x/crypto's parse errors; they name the problem,
// never the key bytes.
func keyParseReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "ssh: ")
	if strings.Contains(msg, "no key found") {
		return "not a PEM private key"
	}
	if strings.Contains(msg, "unhandled key type") || strings.Contains(msg, "unsupported key type") {
		return "unsupported key type (use RSA, ECDSA or Ed25519)"
	}
	return msg
}

// PublicKeyLine returns the authorized_keys line ("type base64") of a
// private key, for example to add the project key to a host.
func PublicKeyLine(privateKey []byte) (string, error) {
	signer, err := ParsePrivateKey(privateKey)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}
