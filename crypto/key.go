package crypto

import (
	"fmt"
	"regexp"
)

// Key types accepted in KeyConfig.Type. They are also the <key_type> part of
// a stored value, so they must never change.
const (
	// TypeAES is an AES-256-GCM key with a base64-encoded 32-byte secret.
	TypeAES = "aes"
	// TypeIdentity stores values as plaintext; it exists so that "no
	// encryption" is an explicit, inspectable choice rather than a missing
	// config.
	TypeIdentity = "identity"
)

// identityName is the only name an identity key has: upstream dstack writes
// it into every identity value, so it is part of the stored format.
const identityName = "noname"

// aesNameRe is the accepted key name: the name is embedded in stored values
// between colons, so it must not contain ':' or anything a reader would have
// to escape.
var aesNameRe = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// KeyConfig is one entry of `encryption.keys` in the server's config.yml.
type KeyConfig struct {
	// Type is "aes" or "identity".
	Type string `yaml:"type" json:"type"`
	// Name identifies an aes key inside stored values; identity keys are
	// always named "noname".
	Name string `yaml:"name" json:"name"`
	// Secret is the base64-encoded 32-byte AES key; empty for identity.
	Secret string `yaml:"secret" json:"secret"`
}

// String formats the config without its secret, so that logging a config
// (or an error that embeds one with %v) never leaks key material.
func (c KeyConfig) String() string {
	secret := ""
	if c.Secret != "" {
		secret = "<redacted>"
	}
	return fmt.Sprintf("{Type:%s Name:%s Secret:%s}", c.Type, c.Name, secret)
}

// GoString is String for %#v, which would otherwise print the secret.
func (c KeyConfig) GoString() string {
	return "crypto.KeyConfig" + c.String()
}

// Key is one configured encryption key. Its methods that touch data are
// unexported so that every stored value goes through a Keyring, which adds
// the "enc:<type>:<name>:" envelope and applies the decryption rules.
type Key interface {
	// Type is "aes" or "identity".
	Type() string
	// Name is the name written into stored values; "noname" for identity.
	Name() string
	// encrypt returns the <payload> part of a stored value.
	encrypt(plaintext, aad []byte) (string, error)
	// decrypt opens the <payload> part of a stored value.
	decrypt(payload string, aad []byte) ([]byte, error)
}

// NewKey validates one key config and builds the key. Errors name the key
// (never its secret) because they are reported at server start.
func NewKey(c KeyConfig) (Key, error) {
	switch c.Type {
	case TypeAES:
		return newAESKey(c)
	case TypeIdentity:
		return newIdentityKey(c)
	case "":
		return nil, fmt.Errorf("key %q: type is missing (accepted: %s, %s)", c.Name, TypeAES, TypeIdentity)
	default:
		return nil, fmt.Errorf("key %q: unknown type %q (accepted: %s, %s)", c.Name, c.Type, TypeAES, TypeIdentity)
	}
}

// identityKey writes plaintext values; see TypeIdentity.
type identityKey struct{}

func newIdentityKey(c KeyConfig) (Key, error) {
	if c.Secret != "" {
		return nil, fmt.Errorf("identity key: secret must be empty (identity keys store plaintext and use no secret)")
	}
	// The name is fixed by the format; accepting another one would let a
	// config suggest a name that is silently never used.
	if c.Name != "" && c.Name != identityName {
		return nil, fmt.Errorf("identity key: name must be empty or %q, got %q", identityName, c.Name)
	}
	return identityKey{}, nil
}

// Type implements Key.
func (identityKey) Type() string { return TypeIdentity }

// Name implements Key.
func (identityKey) Name() string { return identityName }

// encrypt returns the plaintext: identity values cannot be bound to aad.
func (identityKey) encrypt(plaintext, _ []byte) (string, error) {
	return string(plaintext), nil
}

// decrypt returns the payload, which is the plaintext.
func (identityKey) decrypt(payload string, _ []byte) ([]byte, error) {
	return []byte(payload), nil
}

// String identifies the key for logs.
func (identityKey) String() string { return TypeIdentity + ":" + identityName }
