package crypto

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testSecret returns a deterministic valid secret, distinct per seed.
func testSecret(seed byte) string {
	b := make([]byte, aesKeySize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func aesConfig(name string, seed byte) KeyConfig {
	return KeyConfig{Type: TypeAES, Name: name, Secret: testSecret(seed)}
}

func TestNewKey(t *testing.T) {
	shortSecret := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name     string
		cfg      KeyConfig
		wantType string
		wantName string
		wantErr  string
	}{
		{name: "aes", cfg: aesConfig("key1", 1), wantType: TypeAES, wantName: "key1"},
		{name: "identity", cfg: KeyConfig{Type: TypeIdentity}, wantType: TypeIdentity, wantName: "noname"},
		{name: "identity named noname", cfg: KeyConfig{Type: TypeIdentity, Name: "noname"}, wantType: TypeIdentity, wantName: "noname"},
		{name: "unknown type", cfg: KeyConfig{Type: "rsa", Name: "key1"}, wantErr: `key "key1": unknown type "rsa" (accepted: aes, identity)`},
		{name: "missing type", cfg: KeyConfig{Name: "key1", Secret: testSecret(1)}, wantErr: `key "key1": type is missing (accepted: aes, identity)`},
		{name: "type is case sensitive", cfg: KeyConfig{Type: "AES", Name: "key1"}, wantErr: `unknown type "AES"`},
		{name: "aes name missing", cfg: KeyConfig{Type: TypeAES, Secret: testSecret(1)}, wantErr: "aes key: name is missing"},
		{name: "aes name with dash", cfg: aesConfig("key-1", 1), wantErr: `key "key-1": name must be alphanumeric`},
		{name: "aes name with colon", cfg: aesConfig("a:b", 1), wantErr: `key "a:b": name must be alphanumeric`},
		{name: "aes name with space", cfg: aesConfig("key 1", 1), wantErr: `name must be alphanumeric`},
		{name: "aes name non ascii", cfg: aesConfig("ключ", 1), wantErr: `name must be alphanumeric`},
		{name: "aes secret missing", cfg: KeyConfig{Type: TypeAES, Name: "key1"}, wantErr: `key "key1": secret is missing`},
		{name: "aes secret not base64", cfg: KeyConfig{Type: TypeAES, Name: "key1", Secret: "not*base64"}, wantErr: `key "key1": secret is not valid base64: illegal base64 data at input byte 3`},
		{name: "aes secret url-safe base64", cfg: KeyConfig{Type: TypeAES, Name: "key1", Secret: strings.Repeat("_", 43) + "="}, wantErr: `key "key1": secret is not valid base64`},
		{name: "aes secret 16 bytes", cfg: KeyConfig{Type: TypeAES, Name: "key1", Secret: shortSecret}, wantErr: `key "key1": secret decodes to 16 bytes, not 32`},
		{name: "aes secret 33 bytes", cfg: KeyConfig{Type: TypeAES, Name: "key1", Secret: base64.StdEncoding.EncodeToString(make([]byte, 33))}, wantErr: `secret decodes to 33 bytes, not 32`},
		{name: "identity with secret", cfg: KeyConfig{Type: TypeIdentity, Secret: testSecret(1)}, wantErr: "identity key: secret must be empty"},
		{name: "identity with other name", cfg: KeyConfig{Type: TypeIdentity, Name: "plain"}, wantErr: `identity key: name must be empty or "noname", got "plain"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, k)
				if tt.cfg.Secret != "" {
					require.NotContains(t, err.Error(), tt.cfg.Secret, "error must not leak the secret")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantType, k.Type())
			require.Equal(t, tt.wantName, k.Name())
		})
	}
}

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		name     string
		cfgs     []KeyConfig
		wantKeys []string // type:name in order
		wantErrs []string
	}{
		{name: "nil config is identity only", cfgs: nil, wantKeys: []string{"identity:noname"}},
		{name: "empty config is identity only", cfgs: []KeyConfig{}, wantKeys: []string{"identity:noname"}},
		{name: "identity appended after aes", cfgs: []KeyConfig{aesConfig("key2", 2), aesConfig("key1", 1)},
			wantKeys: []string{"aes:key2", "aes:key1", "identity:noname"}},
		{name: "configured identity kept in place", cfgs: []KeyConfig{{Type: TypeIdentity}, aesConfig("key1", 1)},
			wantKeys: []string{"identity:noname", "aes:key1"}},
		{name: "aes key may be named noname", cfgs: []KeyConfig{aesConfig("noname", 1)},
			wantKeys: []string{"aes:noname", "identity:noname"}},
		{name: "names are case sensitive", cfgs: []KeyConfig{aesConfig("key", 1), aesConfig("KEY", 2)},
			wantKeys: []string{"aes:key", "aes:KEY", "identity:noname"}},
		{name: "duplicate aes name", cfgs: []KeyConfig{aesConfig("key1", 1), aesConfig("key1", 2)},
			wantErrs: []string{`encryption.keys[1]: aes key "key1": duplicate name, already used by encryption.keys[0]`}},
		{name: "duplicate identity", cfgs: []KeyConfig{{Type: TypeIdentity}, {Type: TypeIdentity, Name: "noname"}},
			wantErrs: []string{`encryption.keys[1]: identity key "noname": duplicate name, already used by encryption.keys[0]`}},
		{name: "position of bad entry", cfgs: []KeyConfig{aesConfig("key1", 1), {Type: TypeAES, Name: "key2", Secret: "%%%"}},
			wantErrs: []string{`encryption.keys[1]: key "key2": secret is not valid base64`}},
		{name: "all errors reported", cfgs: []KeyConfig{{Type: "rsa", Name: "a"}, aesConfig("b-c", 1), {Type: TypeIdentity, Secret: "c2VjcmV0"}},
			wantErrs: []string{
				`encryption.keys[0]: key "a": unknown type "rsa"`,
				`encryption.keys[1]: key "b-c": name must be alphanumeric`,
				`encryption.keys[2]: identity key: secret must be empty`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewKeyring(tt.cfgs)
			if len(tt.wantErrs) > 0 {
				require.Error(t, err)
				require.Nil(t, r)
				for _, want := range tt.wantErrs {
					require.ErrorContains(t, err, want)
				}
				for _, c := range tt.cfgs {
					if c.Secret != "" {
						require.NotContains(t, err.Error(), c.Secret)
					}
				}
				return
			}
			require.NoError(t, err)
			var got []string
			for _, k := range r.Keys() {
				got = append(got, k.Type()+":"+k.Name())
			}
			require.Equal(t, tt.wantKeys, got)
			require.Equal(t, tt.wantKeys[0], r.Primary().Type()+":"+r.Primary().Name())
		})
	}
}

func TestKeysReturnsCopy(t *testing.T) {
	r, err := NewKeyring([]KeyConfig{aesConfig("key1", 1)})
	require.NoError(t, err)
	keys := r.Keys()
	keys[0] = identityKey{}
	require.Equal(t, TypeAES, r.Primary().Type())
}

func TestGenerateAESSecret(t *testing.T) {
	s1, err := GenerateAESSecret()
	require.NoError(t, err)
	s2, err := GenerateAESSecret()
	require.NoError(t, err)
	require.NotEqual(t, s1, s2)
	raw, err := base64.StdEncoding.DecodeString(s1)
	require.NoError(t, err)
	require.Len(t, raw, aesKeySize)
	_, err = NewKey(KeyConfig{Type: TypeAES, Name: "generated", Secret: s1})
	require.NoError(t, err)
}

func TestSecretsNotFormatted(t *testing.T) {
	cfg := aesConfig("key1", 1)
	k, err := NewKey(cfg)
	require.NoError(t, err)
	tests := []struct {
		name string
		got  string
	}{
		{name: "config %v", got: fmt.Sprintf("%v", cfg)},
		{name: "config %+v", got: fmt.Sprintf("%+v", cfg)},
		{name: "config %#v", got: fmt.Sprintf("%#v", cfg)},
		{name: "config in slice", got: fmt.Sprintf("%v", []KeyConfig{cfg})},
		{name: "key %v", got: fmt.Sprintf("%v", k)},
		{name: "key %+v", got: fmt.Sprintf("%+v", k)},
		{name: "key %#v", got: fmt.Sprintf("%#v", k)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotContains(t, tt.got, cfg.Secret)
			require.Contains(t, tt.got, "key1")
		})
	}
}
