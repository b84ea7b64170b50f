package crypto_test

import (
	"fmt"
	"strings"

	"github.com/dstackgo/dstack/crypto"
)

// Rotating from key1 to key2: key2 goes first and encrypts new writes, key1
// stays to read old values until a rewrap job has moved them.
func ExampleKeyring_rotation() {
	secret1, _ := crypto.GenerateAESSecret()
	secret2, _ := crypto.GenerateAESSecret()
	key1 := crypto.KeyConfig{Type: "aes", Name: "key1", Secret: secret1}
	key2 := crypto.KeyConfig{Type: "aes", Name: "key2", Secret: secret2}
	aad := []byte("users.token:42")

	before, _ := crypto.NewKeyring([]crypto.KeyConfig{key1})
	old, _ := before.Encrypt("token", aad)

	after, _ := crypto.NewKeyring([]crypto.KeyConfig{key2, key1})
	plaintext, _ := after.Decrypt(old, aad)
	fmt.Println(plaintext, after.Inspect(old, aad).NeedsRewrap)

	rewrapped, _ := after.Encrypt(plaintext, aad)
	fmt.Println(strings.HasPrefix(rewrapped, "enc:aes:key2:"), after.Inspect(rewrapped, aad).NeedsRewrap)
	// Output:
	// token true
	// true false
}
