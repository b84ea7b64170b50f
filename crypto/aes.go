package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

const (
	// aesKeySize is fixed at 32 bytes (AES-256) to match upstream dstack,
	// which rejects any other length.
	aesKeySize = 32
	// gcmNonceSize and gcmTagSize define the payload layout
	// nonce || ciphertext || tag shared with upstream.
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// errMalformed marks values that are broken regardless of the key, so that
// Decrypt reports them as such instead of trying every key and blaming them.
var errMalformed = errors.New("malformed stored value")

// aesKey is an AES-256-GCM key. The AEAD is built once because key
// expansion costs more than sealing a typical short secret; it holds no
// per-call state, so one key serves concurrent requests.
type aesKey struct {
	name string
	aead cipher.AEAD
}

func newAESKey(c KeyConfig) (Key, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("aes key: name is missing (letters and digits only)")
	}
	if !aesNameRe.MatchString(c.Name) {
		return nil, fmt.Errorf("key %q: name must be alphanumeric (A-Z, a-z, 0-9)", c.Name)
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("key %q: secret is missing (want base64 of %d bytes)", c.Name, aesKeySize)
	}
	// StdEncoding matches upstream's b64decode(validate=True); the decode
	// error reports an offset only, never the secret's content.
	secret, err := base64.StdEncoding.DecodeString(c.Secret)
	if err != nil {
		return nil, fmt.Errorf("key %q: secret is not valid base64: %w", c.Name, err)
	}
	if len(secret) != aesKeySize {
		return nil, fmt.Errorf("key %q: secret decodes to %d bytes, not %d (AES-256)", c.Name, len(secret), aesKeySize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("key %q: create cipher: %w", c.Name, err)
	}
	// NewGCMWithRandomNonce draws a fresh 12-byte nonce per Seal and lays
	// out nonce || ciphertext || tag, exactly upstream's payload, so no
	// nonce handling lives in this package.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("key %q: create gcm: %w", c.Name, err)
	}
	return &aesKey{name: c.Name, aead: aead}, nil
}

// Type implements Key.
func (k *aesKey) Type() string { return TypeAES }

// Name implements Key.
func (k *aesKey) Name() string { return k.name }

// String identifies the key for logs and keeps fmt from dumping the AEAD,
// whose fields hold the expanded key.
func (k *aesKey) String() string { return TypeAES + ":" + k.name }

// GoString is String for %#v.
func (k *aesKey) GoString() string { return k.String() }

// encrypt seals plaintext bound to aad and returns base64(nonce||ct||tag).
func (k *aesKey) encrypt(plaintext, aad []byte) (string, error) {
	sealed := k.aead.Seal(nil, nil, plaintext, aad)
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// decrypt opens a payload sealed with aad. Errors wrapping errMalformed mean
// no key could ever open it; any other error means this key or aad is wrong.
func (k *aesKey) decrypt(payload string, aad []byte) ([]byte, error) {
	sealed, err := decodeAESPayload(payload)
	if err != nil {
		return nil, err
	}
	return k.open(sealed, aad)
}

// open authenticates and decrypts an already decoded payload. It does not
// modify sealed, so the caller can retry with other keys or aad.
func (k *aesKey) open(sealed, aad []byte) ([]byte, error) {
	plaintext, err := k.aead.Open(nil, nil, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("open with aes key %q: %w", k.name, err)
	}
	return plaintext, nil
}

// decodeAESPayload checks the payload's shape once, before any key is tried.
func decodeAESPayload(payload string) ([]byte, error) {
	sealed, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: aes payload is not valid base64: %w", errMalformed, err)
	}
	if len(sealed) < gcmNonceSize+gcmTagSize {
		return nil, fmt.Errorf("%w: aes payload is %d bytes, shorter than nonce and tag (%d bytes)",
			errMalformed, len(sealed), gcmNonceSize+gcmTagSize)
	}
	return sealed, nil
}

// GenerateAESSecret returns a new random AES-256 secret in the form
// KeyConfig.Secret expects, for docs and admin tooling.
func GenerateAESSecret() (string, error) {
	secret := make([]byte, aesKeySize)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(secret), nil
}
