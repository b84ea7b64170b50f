package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustKeyring(t testing.TB, cfgs ...KeyConfig) *Keyring {
	t.Helper()
	r, err := NewKeyring(cfgs)
	require.NoError(t, err)
	return r
}

// upstreamEncrypt seals like upstream dstack: AES-256-GCM, random 12-byte
// nonce, no associated data, base64(nonce || ciphertext || tag).
func upstreamEncrypt(t testing.TB, cfg KeyConfig, plaintext string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(cfg.Secret)
	require.NoError(t, err)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := make([]byte, gcm.NonceSize())
	_, err = rand.Read(nonce)
	require.NoError(t, err)
	sealed := gcm.Seal(nonce, nonce, []byte(plaintext), nil)
	return "enc:aes:" + cfg.Name + ":" + base64.StdEncoding.EncodeToString(sealed)
}

func TestRoundTrip(t *testing.T) {
	plaintexts := []string{"", "token", "with:colons:inside", "ünïcødé ✓", "enc:aes:key1:looks-encrypted", strings.Repeat("x", 10000)}
	tests := []struct {
		name       string
		keyring    *Keyring
		wantPrefix string
	}{
		{name: "aes", keyring: mustKeyring(t, aesConfig("key1", 1)), wantPrefix: "enc:aes:key1:"},
		{name: "identity", keyring: mustKeyring(t, KeyConfig{Type: TypeIdentity}), wantPrefix: "enc:identity:noname:"},
		{name: "no keys", keyring: mustKeyring(t), wantPrefix: "enc:identity:noname:"},
		{name: "zero keyring", keyring: &Keyring{}, wantPrefix: "enc:identity:noname:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pt := range plaintexts {
				for _, aad := range [][]byte{nil, []byte("users.token:42")} {
					stored, err := tt.keyring.Encrypt(pt, aad)
					require.NoError(t, err)
					require.True(t, strings.HasPrefix(stored, tt.wantPrefix), stored)
					got, err := tt.keyring.Decrypt(stored, aad)
					require.NoError(t, err)
					require.Equal(t, pt, got)
				}
			}
		})
	}
}

func TestIdentityFormat(t *testing.T) {
	stored, err := mustKeyring(t).Encrypt("a:b", []byte("ignored"))
	require.NoError(t, err)
	require.Equal(t, "enc:identity:noname:a:b", stored)
}

func TestAESNonceIsRandom(t *testing.T) {
	r := mustKeyring(t, aesConfig("key1", 1))
	a, err := r.Encrypt("same", nil)
	require.NoError(t, err)
	b, err := r.Encrypt("same", nil)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestRotation(t *testing.T) {
	key1, key2 := aesConfig("key1", 1), aesConfig("key2", 2)
	aad := []byte("backends.config:7")
	old, err := mustKeyring(t, key1).Encrypt("old secret", aad)
	require.NoError(t, err)

	rotated := mustKeyring(t, key2, key1)
	got, err := rotated.Decrypt(old, aad)
	require.NoError(t, err)
	require.Equal(t, "old secret", got)
	require.True(t, rotated.Inspect(old, aad).NeedsRewrap)

	fresh, err := rotated.Encrypt("new secret", aad)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(fresh, "enc:aes:key2:"), fresh)
	require.False(t, rotated.Inspect(fresh, aad).NeedsRewrap)

	// Once key1 is dropped, its values fail with a message naming it.
	_, err = mustKeyring(t, key2).Decrypt(old, aad)
	require.ErrorIs(t, err, ErrUndecryptable)
	require.ErrorContains(t, err, `aes key "key1"`)
	require.ErrorContains(t, err, "tried aes keys: key2")
}

func TestIdentityFirstReadsAES(t *testing.T) {
	key1 := aesConfig("key1", 1)
	aad := []byte("secrets.value:3")
	encrypted, err := mustKeyring(t, key1).Encrypt("s3cret", aad)
	require.NoError(t, err)

	r := mustKeyring(t, KeyConfig{Type: TypeIdentity}, key1)
	stored, err := r.Encrypt("s3cret", aad)
	require.NoError(t, err)
	require.Equal(t, "enc:identity:noname:s3cret", stored)

	got, err := r.Decrypt(encrypted, aad)
	require.NoError(t, err)
	require.Equal(t, "s3cret", got)
	require.True(t, r.Inspect(encrypted, aad).NeedsRewrap, "aes value should move to identity primary")
	require.False(t, r.Inspect(stored, aad).NeedsRewrap)
}

func TestAADBinding(t *testing.T) {
	r := mustKeyring(t, aesConfig("key1", 1))
	bound, err := r.Encrypt("token", []byte("users.token:1"))
	require.NoError(t, err)
	unbound, err := r.Encrypt("token", nil)
	require.NoError(t, err)
	tests := []struct {
		name    string
		stored  string
		aad     []byte
		wantErr bool
	}{
		{name: "same aad", stored: bound, aad: []byte("users.token:1")},
		{name: "other row", stored: bound, aad: []byte("users.token:2"), wantErr: true},
		{name: "other column", stored: bound, aad: []byte("backends.config:1"), wantErr: true},
		{name: "no aad on bound value", stored: bound, aad: nil, wantErr: true},
		{name: "unbound value with aad", stored: unbound, aad: []byte("users.token:1")},
		{name: "unbound value without aad", stored: unbound, aad: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Decrypt(tt.stored, tt.aad)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrUndecryptable)
				require.Empty(t, got)
				require.False(t, r.Inspect(tt.stored, tt.aad).Decryptable)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "token", got)
		})
	}
}

func TestUpstreamCompatibility(t *testing.T) {
	// Generated with Python's cryptography AESGCM exactly as upstream
	// dstack's AESEncryptionKey.encrypt does (key bytes 0..31, nonce bytes
	// 100..111, associated data None).
	const upstreamSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	const upstreamValue = "enc:aes:key1:ZGVmZ2hpamtsbW5vPWutEguMN/MeEZxBuRcPiXjicWP/BNMRyL3DJoh3Rnaaf5PMVMY0j2Vro27t"
	pyKey := KeyConfig{Type: TypeAES, Name: "key1", Secret: upstreamSecret}
	goKey := aesConfig("key2", 2)
	tests := []struct {
		name   string
		cfg    KeyConfig
		stored string
		want   string
	}{
		{name: "python vector", cfg: pyKey, stored: upstreamValue, want: "upstream sécret: with colons"},
		{name: "crypto/aes without aad", cfg: goKey, stored: upstreamEncrypt(t, goKey, "plain gcm"), want: "plain gcm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustKeyring(t, tt.cfg)
			aad := []byte("users.token:9")
			got, err := r.Decrypt(tt.stored, aad)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			ins := r.Inspect(tt.stored, aad)
			require.Equal(t, Inspection{KeyType: TypeAES, KeyName: tt.cfg.Name, Decryptable: true, NeedsRewrap: true}, ins)

			// Rewrapping binds the value, after which nothing is left to do.
			rewrapped, err := r.Encrypt(got, aad)
			require.NoError(t, err)
			require.False(t, r.Inspect(rewrapped, aad).NeedsRewrap)

			// Without aad, an upstream value is exactly what Encrypt writes.
			require.False(t, r.Inspect(tt.stored, nil).NeedsRewrap)
		})
	}
}

func TestStoredNameIgnoredLikeUpstream(t *testing.T) {
	key1 := aesConfig("key1", 1)
	r := mustKeyring(t, key1)
	stored, err := r.Encrypt("v", nil)
	require.NoError(t, err)
	renamed := strings.Replace(stored, "enc:aes:key1:", "enc:aes:oldname:", 1)
	got, err := r.Decrypt(renamed, nil)
	require.NoError(t, err)
	require.Equal(t, "v", got)
	ins := r.Inspect(renamed, nil)
	require.True(t, ins.Decryptable)
	require.True(t, ins.NeedsRewrap, "the stored name no longer matches the key")
}

func TestDecryptErrors(t *testing.T) {
	r := mustKeyring(t, aesConfig("key1", 1), aesConfig("key2", 2))
	valid, err := r.Encrypt("hunter2", nil)
	require.NoError(t, err)
	payload := strings.TrimPrefix(valid, "enc:aes:key1:")
	raw, err := base64.StdEncoding.DecodeString(payload)
	require.NoError(t, err)
	raw[len(raw)-1] ^= 1
	tampered := "enc:aes:key1:" + base64.StdEncoding.EncodeToString(raw)
	otherKey, err := mustKeyring(t, aesConfig("key3", 3)).Encrypt("hunter2", nil)
	require.NoError(t, err)

	tests := []struct {
		name              string
		keyring           *Keyring
		stored            string
		wantErr           string
		wantUndecryptable bool
	}{
		{name: "prefix only", stored: "enc:", wantErr: "missing ':' after the key type"},
		{name: "type only", stored: "enc:aes:", wantErr: "missing ':' after the key name"},
		{name: "empty type", stored: "enc::key1:x", wantErr: "key type is empty"},
		{name: "unknown type", stored: "enc:rsa:key1:x", wantErr: `unknown key type "rsa" (accepted: aes, identity)`},
		{name: "empty payload", stored: "enc:aes:key1:", wantErr: "aes payload is 0 bytes, shorter than nonce and tag (28 bytes)"},
		{name: "bad base64", stored: "enc:aes:key1:!!!!", wantErr: "aes payload is not valid base64"},
		{name: "too short", stored: "enc:aes:key1:" + base64.StdEncoding.EncodeToString(make([]byte, 27)), wantErr: "aes payload is 27 bytes"},
		{name: "tampered", stored: tampered, wantErr: `decrypt value of aes key "key1" (tried aes keys: key1, key2)`, wantUndecryptable: true},
		{name: "unknown key", stored: otherKey, wantErr: `decrypt value of aes key "key3" (tried aes keys: key1, key2)`, wantUndecryptable: true},
		{name: "no aes keys", keyring: mustKeyring(t), stored: valid, wantErr: `aes key "key1" (tried aes keys: none configured)`, wantUndecryptable: true},
		{name: "odd type not echoed", stored: "enc:hunter2 password:x:y", wantErr: "unknown key type (16 bytes, not shown)"},
		{name: "odd name not echoed", keyring: mustKeyring(t), stored: "enc:aes:hunter2 password:" + payload, wantErr: "aes key (16 bytes, not shown)", wantUndecryptable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := r
			if tt.keyring != nil {
				kr = tt.keyring
			}
			got, err := kr.Decrypt(tt.stored, []byte("aad"))
			require.ErrorContains(t, err, tt.wantErr)
			require.Empty(t, got)
			require.Equal(t, tt.wantUndecryptable, errors.Is(err, ErrUndecryptable), err.Error())
			require.NotContains(t, err.Error(), "hunter2")
			require.NotContains(t, err.Error(), payload)

			ins := kr.Inspect(tt.stored, []byte("aad"))
			require.False(t, ins.Decryptable)
			require.False(t, ins.NeedsRewrap)
			require.EqualError(t, ins.Err, err.Error())
		})
	}
}

func TestLegacyPlaintext(t *testing.T) {
	r := mustKeyring(t, aesConfig("key1", 1))
	for _, stored := range []string{"", "plain", "ENC:aes:key1:x", " enc:aes:key1:x", "encrypted"} {
		t.Run(stored, func(t *testing.T) {
			got, err := r.Decrypt(stored, []byte("aad"))
			require.NoError(t, err)
			require.Equal(t, stored, got)
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	r := mustKeyring(t, aesConfig("key2", 2), aesConfig("key1", 1))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			aad := []byte{byte(i)}
			for range 100 {
				stored, err := r.Encrypt("concurrent", aad)
				if err != nil {
					assert.NoError(t, err)
					return
				}
				got, err := r.Decrypt(stored, aad)
				if !assert.NoError(t, err, "decrypt") || !assert.Equal(t, "concurrent", got, "decrypt") {
					return
				}

			}
		})
	}
	wg.Wait()
}
