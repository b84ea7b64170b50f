package crypto

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var benchSizes = []struct {
	name      string
	plaintext string
}{
	{name: "token", plaintext: "3f2c8a1e-5b7d-4c9e-8f0a-1b2c3d4e5f60"},
	{name: "4KiB", plaintext: strings.Repeat("x", 4096)},
}

func BenchmarkEncrypt(b *testing.B) {
	r := mustKeyring(b, aesConfig("key1", 1))
	aad := []byte("users.token:42")
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s.plaintext)))
			for b.Loop() {
				_, err := r.Encrypt(s.plaintext, aad)
				require.NoError(b, err)
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	aad := []byte("users.token:42")
	current := mustKeyring(b, aesConfig("key1", 1))
	// rotated has the value's key second, as after a rotation; the name
	// match means it is still opened on the first try.
	rotated := mustKeyring(b, aesConfig("key2", 2), aesConfig("key1", 1))
	for _, s := range benchSizes {
		stored, err := current.Encrypt(s.plaintext, aad)
		require.NoError(b, err)
		for _, c := range []struct {
			name    string
			keyring *Keyring
		}{{"current", current}, {"rotated", rotated}} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(s.plaintext)))
				for b.Loop() {
					_, err := c.keyring.Decrypt(stored, aad)
					require.NoError(b, err)
				}
			})
		}
	}
}
