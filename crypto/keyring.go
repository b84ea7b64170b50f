package crypto

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUndecryptable is wrapped by Decrypt when the value is well-formed but no
// configured key opens it. Callers test for it to tell "the config lost a key
// (or the value was moved between rows)" apart from corrupt data.
var ErrUndecryptable = errors.New("no configured key decrypts the value (key removed or wrong, or value copied from another record)")

// identityOnly is the key list of an empty or zero Keyring, so that a
// Keyring{} behaves like a config without keys instead of panicking.
var identityOnly = []Key{identityKey{}}

// Keyring holds the configured keys in config order. The first key (the
// primary) encrypts; every key decrypts. It is immutable after NewKeyring
// and safe for concurrent use.
type Keyring struct {
	keys []Key
}

// NewKeyring validates every entry of `encryption.keys` and builds the
// keyring. All problems are reported together, each prefixed with the
// entry's position, so an admin fixes the config in one pass. An identity
// key is appended when none is configured, so plaintext values written while
// encryption was off keep reading; an empty list therefore writes plaintext.
func NewKeyring(cfgs []KeyConfig) (*Keyring, error) {
	keys := make([]Key, 0, len(cfgs)+1)
	// Names are unique per type: "aes:noname" and "identity:noname" never
	// meet in the same stored value, so they cannot be confused.
	seen := make(map[string]int, len(cfgs))
	hasIdentity := false
	var errs []error
	for i, c := range cfgs {
		k, err := NewKey(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("encryption.keys[%d]: %w", i, err))
			continue
		}
		id := k.Type() + ":" + k.Name()
		if j, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("encryption.keys[%d]: %s key %q: duplicate name, already used by encryption.keys[%d]",
				i, k.Type(), k.Name(), j))
			continue
		}
		seen[id] = i
		hasIdentity = hasIdentity || k.Type() == TypeIdentity
		keys = append(keys, k)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !hasIdentity {
		keys = append(keys, identityKey{})
	}
	return &Keyring{keys: keys}, nil
}

// all returns the keys, defaulting to identity only for a zero Keyring.
func (r *Keyring) all() []Key {
	if r == nil || len(r.keys) == 0 {
		return identityOnly
	}
	return r.keys
}

// Primary returns the first key: it encrypts every new write, so putting a
// new key first is how rotation starts.
func (r *Keyring) Primary() Key {
	return r.all()[0]
}

// Keys returns all keys in config order, including an appended identity key.
// The slice is a copy: the keyring stays immutable.
func (r *Keyring) Keys() []Key {
	return slices.Clone(r.all())
}

// Encrypt encrypts plaintext with the primary key and returns the stored
// value "enc:<type>:<name>:<payload>". aad binds the value to where it is
// stored (e.g. "users.token:<row id>"); the same aad must be passed to
// Decrypt. Identity keys ignore aad.
func (r *Keyring) Encrypt(plaintext string, aad []byte) (string, error) {
	k := r.Primary()
	payload, err := k.encrypt([]byte(plaintext), aad)
	if err != nil {
		return "", fmt.Errorf("encrypt with %s key %q: %w", k.Type(), k.Name(), err)
	}
	return valuePrefix + k.Type() + ":" + k.Name() + ":" + payload, nil
}

// Decrypt returns the plaintext of a stored value. Legacy values without the
// "enc:" prefix are returned unchanged. Malformed values give an error that
// says what is wrong; well-formed values no key opens give an error wrapping
// ErrUndecryptable. Neither error contains the value or its plaintext.
func (r *Keyring) Decrypt(stored string, aad []byte) (string, error) {
	o, err := r.open(stored, aad)
	if err != nil {
		return "", err
	}
	return o.plaintext, nil
}

// opened is what open learned about a stored value; Inspect needs more than
// the plaintext.
type opened struct {
	value     Value
	plaintext string
	// key is the key that opened the value; nil for legacy plaintext.
	key Key
	// bound is false when an aes value only opened without aad, i.e. it
	// was written by upstream dstack (or before binding was introduced).
	bound bool
}

// open parses and decrypts stored. On error, the returned opened still
// carries whatever ParseValue could read, for Inspect.
func (r *Keyring) open(stored string, aad []byte) (opened, error) {
	v, err := ParseValue(stored)
	o := opened{value: v}
	if err != nil {
		return o, fmt.Errorf("decrypt stored value: %w", err)
	}
	if v.Plaintext {
		o.plaintext, o.bound = v.Payload, true
		return o, nil
	}
	var tried []string
	// try opens the value with k, first bound to aad and then, for values
	// written without binding, with none. It reports whether to stop.
	try := func(k Key) (bool, error) {
		pt, err := k.decrypt(v.Payload, aad)
		if err == nil {
			o.plaintext, o.key, o.bound = string(pt), k, true
			return true, nil
		}
		if errors.Is(err, errMalformed) {
			// The payload is broken for every key; trying more only
			// hides the real problem behind ErrUndecryptable.
			return true, fmt.Errorf("decrypt value of %s key %s: %w", v.Type, describe(v.KeyName), err)
		}
		if len(aad) > 0 {
			if pt, err := k.decrypt(v.Payload, nil); err == nil {
				o.plaintext, o.key, o.bound = string(pt), k, false
				return true, nil
			}
		}
		tried = append(tried, k.Name())
		return false, nil
	}
	// The key named in the value goes first because it is almost always
	// the right one; the others follow in config order because upstream
	// ignores the stored name and keys may have been renamed.
	keys := r.all()
	for pass := range 2 {
		for _, k := range keys {
			if k.Type() != v.Type || (k.Name() == v.KeyName) != (pass == 0) {
				continue
			}
			if done, err := try(k); done {
				return o, err
			}
		}
	}
	triedList := "none configured"
	if len(tried) > 0 {
		triedList = strings.Join(tried, ", ")
	}
	return o, fmt.Errorf("decrypt value of %s key %s (tried %s keys: %s): %w",
		v.Type, describe(v.KeyName), v.Type, triedList, ErrUndecryptable)
}
