// Package crypto implements encryption at rest for secrets the server stores
// in its database (user tokens, backend credentials, secrets, ...). It uses
// the stored-value format of upstream dstack, so it reads every value
// upstream wrote. Upstream reads our values back only when they were
// encrypted without associated data (see "Binding to the row").
//
// # Stored value format
//
// Every value written by a [Keyring] has the form
//
//	enc:<key_type>:<key_name>:<payload>
//
// split on the first three colons, so the payload itself may contain colons.
// Two key types exist:
//
//   - identity: enc:identity:noname:<plaintext>. The payload is the plaintext
//     itself. It lets a server run without encryption while still writing
//     values in the one format, so turning encryption on later is just a
//     rewrap.
//   - aes: enc:aes:<name>:<base64 std(nonce || ciphertext || tag)>, where the
//     nonce is 12 random bytes and the cipher is AES-256-GCM with the key's
//     32-byte secret. The plaintext is the value's UTF-8 bytes.
//
// A value without the "enc:" prefix predates encryption (legacy plaintext);
// it is returned unchanged by [Keyring.Decrypt] and reported as plaintext by
// [Keyring.Inspect].
//
// # Binding to the row
//
// New aes ciphertexts carry the caller's associated data (for example
// "users.token:<row id>") in the GCM tag. A value copied into another row or
// column then fails to decrypt instead of silently handing one user's secret
// to another. Upstream dstack seals without associated data, so Decrypt falls
// back to no associated data when the given one fails; Inspect reports such
// values as NeedsRewrap so an admin job can re-encrypt them with binding.
// The fallback means an unbound value can still be moved between rows; only
// a rewrap closes that gap. Bound values are a one-way step: upstream dstack
// cannot open them. Identity values cannot be bound: they are plaintext.
//
// # Rotation
//
// The first configured key is the primary: it encrypts every new write. All
// keys decrypt. To rotate, put the new key first and keep the old one after
// it:
//
//	encryption:
//	  keys:
//	    - {type: aes, name: key2, secret: <new>}
//	    - {type: aes, name: key1, secret: <old>}
//
// Old values keep decrypting with key1 while new writes use key2; a rewrap
// job (decrypt, then encrypt, for every value whose Inspect says
// NeedsRewrap) moves old values to key2, after which key1 can be removed.
// Decrypt tries the aes key named in the value first and then every other
// aes key in config order, because upstream ignores the stored name and
// values may have been written under a key that was later renamed.
//
// Each aes key uses random 96-bit nonces, so one key should not encrypt more
// than 2^32 values; rotate long before that.
//
// An identity key is always present: [NewKeyring] appends one when the
// config has none, so identity values always decrypt. With an identity key
// first (or no keys at all) the server writes plaintext but still reads
// every aes value its other keys can open, which is how encryption is
// turned off.
package crypto
