package crypto

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzDecrypt(f *testing.F) {
	key1, key2 := aesConfig("key1", 1), aesConfig("key2", 2)
	r := mustKeyring(f, key2, key1)
	aad := []byte("users.token:1")
	bound, err := r.Encrypt("bound", aad)
	require.NoError(f, err)
	unbound := upstreamEncrypt(f, key1, "upstream")
	seeds := []string{
		bound,
		unbound,
		"enc:identity:noname:plain:with:colons",
		"legacy plaintext",
		"",
		"enc:",
		"enc:aes:",
		"enc:aes:k:",
		"enc::k:p",
		"enc:rsa:k:p",
		"enc:aes:key1:!!!!",
		"enc:aes:key1:" + base64.StdEncoding.EncodeToString(make([]byte, 27)),
		"enc:aes:key1:" + base64.StdEncoding.EncodeToString(make([]byte, 28)),
		bound[:len(bound)-4],
		bound + "AAAA",
	}
	for _, s := range seeds {
		f.Add(s, aad)
		f.Add(s, []byte(nil))
	}
	f.Fuzz(func(t *testing.T, stored string, aad []byte) {
		_, parseErr := ParseValue(stored)
		got, err := r.Decrypt(stored, aad)
		ins := r.Inspect(stored, aad)
		if err != nil {
			require.NotEmpty(t, err.Error())
			require.Empty(t, got)
			require.False(t, ins.Decryptable)
			require.False(t, ins.NeedsRewrap)
			require.EqualError(t, ins.Err, err.Error())
			return
		}
		require.NoError(t, parseErr)
		require.True(t, ins.Decryptable)
		require.NoError(t, ins.Err)
		// Whatever decrypts must survive a rewrap.
		rewrapped, err := r.Encrypt(got, aad)
		require.NoError(t, err)
		again, err := r.Decrypt(rewrapped, aad)
		require.NoError(t, err)
		require.Equal(t, got, again)
	})
}

func FuzzRoundTrip(f *testing.F) {
	keyrings := []*Keyring{
		mustKeyring(f, aesConfig("key1", 1)),
		mustKeyring(f, KeyConfig{Type: TypeIdentity}, aesConfig("key1", 1)),
	}
	f.Add("", []byte(nil))
	f.Add("token", []byte("users.token:1"))
	f.Add("enc:aes:key1:AAAA", []byte{})
	f.Add("a:b:c", []byte{0, 1, 2})
	f.Add("\xff\xfe invalid utf-8", []byte("x"))
	f.Fuzz(func(t *testing.T, plaintext string, aad []byte) {
		for _, r := range keyrings {
			stored, err := r.Encrypt(plaintext, aad)
			require.NoError(t, err)
			got, err := r.Decrypt(stored, aad)
			require.NoError(t, err)
			require.Equal(t, plaintext, got)
			ins := r.Inspect(stored, aad)
			require.True(t, ins.Decryptable)
			require.False(t, ins.NeedsRewrap)
			require.False(t, ins.Plaintext)
		}
	})
}
