package crypto

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// valuePrefix marks an encrypted (or identity-wrapped) stored value; values
// without it are legacy plaintext.
const valuePrefix = "enc:"

// valueFormat is quoted in parse errors so the reader sees what was expected.
const valueFormat = "enc:<key_type>:<key_name>:<payload>"

// Value is a stored value split into its parts, without decryption. Admin
// tooling uses it to count values per key before removing one.
type Value struct {
	// Type is the <key_type> part: "aes" or "identity". Empty for plaintext.
	Type string
	// KeyName is the <key_name> part: the key that wrote the value.
	KeyName string
	// Payload is the <payload> part; for plaintext, the whole value.
	Payload string
	// Plaintext is true for legacy values without the "enc:" prefix.
	Plaintext bool
}

// ParseValue splits stored on its first three colons; the payload may
// contain more. A value without the "enc:" prefix is legacy plaintext. A
// value with the prefix but missing parts or of an unknown key type is an
// error; the returned Value then still holds the parts that were read, so
// inspection can show them. The key name is not checked: upstream ignores
// it when decrypting, so an unusual name is not a reason to fail.
func ParseValue(stored string) (Value, error) {
	rest, ok := strings.CutPrefix(stored, valuePrefix)
	if !ok {
		return Value{Payload: stored, Plaintext: true}, nil
	}
	typ, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return Value{}, fmt.Errorf("%w: want %s, missing ':' after the key type", errMalformed, valueFormat)
	}
	v := Value{Type: typ}
	name, payload, ok := strings.Cut(rest, ":")
	if !ok {
		return v, fmt.Errorf("%w: want %s, missing ':' after the key name", errMalformed, valueFormat)
	}
	v.KeyName, v.Payload = name, payload
	switch typ {
	case TypeAES, TypeIdentity:
		return v, nil
	case "":
		return v, fmt.Errorf("%w: want %s, key type is empty", errMalformed, valueFormat)
	default:
		return v, fmt.Errorf("%w: unknown key type %s (accepted: %s, %s)", errMalformed, describe(typ), TypeAES, TypeIdentity)
	}
}

// Inspection describes a stored value for admin tooling (key usage reports,
// rewrap jobs) without exposing its plaintext.
type Inspection struct {
	// KeyType and KeyName are read from the value; empty for plaintext.
	KeyType string
	KeyName string
	// Plaintext is true for legacy values without the "enc:" prefix.
	Plaintext bool
	// Decryptable is true when Decrypt would succeed with the same aad.
	Decryptable bool
	// NeedsRewrap is true when a decryptable value differs from what
	// Encrypt would write now: it is legacy plaintext, it was not written
	// by the primary key, or it is an aes value not bound to the given aad.
	// Decrypting and re-encrypting the value clears it. Always false when
	// the value is not decryptable, since it cannot be rewrapped.
	NeedsRewrap bool
	// Err says why the value is not decryptable; nil when it is.
	Err error
}

// Inspect reports how stored is encrypted and whether a rewrap job should
// re-encrypt it. It decrypts to find out but never returns the plaintext.
func (r *Keyring) Inspect(stored string, aad []byte) Inspection {
	o, err := r.open(stored, aad)
	ins := Inspection{
		KeyType:   o.value.Type,
		KeyName:   o.value.KeyName,
		Plaintext: o.value.Plaintext,
		Err:       err,
	}
	if err != nil {
		return ins
	}
	ins.Decryptable = true
	p := r.Primary()
	ins.NeedsRewrap = o.value.Plaintext || !o.bound || o.key != p ||
		o.value.Type != p.Type() || o.value.KeyName != p.Name()
	return ins
}

// describe quotes a part of a stored value for an error message only when
// it looks like a key type or name. Anything else is reduced to its length:
// a legacy plaintext that happens to start with "enc:" must not end up in
// logs through an error.
func describe(s string) string {
	const maxShown = 64
	if len(s) > maxShown || !utf8.ValidString(s) {
		return fmt.Sprintf("(%d bytes, not shown)", len(s))
	}
	for _, c := range s {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return fmt.Sprintf("(%d bytes, not shown)", len(s))
		}
	}
	return fmt.Sprintf("%q", s)
}
