package crypto

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name    string
		stored  string
		want    Value
		wantErr string
	}{
		{name: "legacy plaintext", stored: "secret", want: Value{Payload: "secret", Plaintext: true}},
		{name: "empty is plaintext", stored: "", want: Value{Plaintext: true}},
		{name: "prefix is case sensitive", stored: "ENC:aes:k:p", want: Value{Payload: "ENC:aes:k:p", Plaintext: true}},
		{name: "identity", stored: "enc:identity:noname:hello", want: Value{Type: "identity", KeyName: "noname", Payload: "hello"}},
		{name: "aes", stored: "enc:aes:key1:AAAA", want: Value{Type: "aes", KeyName: "key1", Payload: "AAAA"}},
		{name: "colons inside payload", stored: "enc:identity:noname:a:b::c:", want: Value{Type: "identity", KeyName: "noname", Payload: "a:b::c:"}},
		{name: "empty payload", stored: "enc:aes:k:", want: Value{Type: "aes", KeyName: "k"}},
		{name: "empty name", stored: "enc:aes::p", want: Value{Type: "aes", Payload: "p"}},
		{name: "prefix only", stored: "enc:", wantErr: "malformed stored value: want enc:<key_type>:<key_name>:<payload>, missing ':' after the key type"},
		{name: "type without colon", stored: "enc:aes", wantErr: "missing ':' after the key type"},
		{name: "type only", stored: "enc:aes:", want: Value{Type: "aes"}, wantErr: "missing ':' after the key name"},
		{name: "name without colon", stored: "enc:aes:key1", want: Value{Type: "aes"}, wantErr: "missing ':' after the key name"},
		{name: "empty type", stored: "enc::k:p", want: Value{KeyName: "k", Payload: "p"}, wantErr: "key type is empty"},
		{name: "unknown type", stored: "enc:kms:k:p", want: Value{Type: "kms", KeyName: "k", Payload: "p"}, wantErr: `unknown key type "kms"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseValue(tt.stored)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestInspect(t *testing.T) {
	key1, key2 := aesConfig("key1", 1), aesConfig("key2", 2)
	aad := []byte("users.token:5")
	byKey1 := mustKeyring(t, key1)
	byKey2 := mustKeyring(t, key2, key1)
	identityFirst := mustKeyring(t, KeyConfig{Type: TypeIdentity}, key2)
	enc := func(r *Keyring, aad []byte) string {
		s, err := r.Encrypt("v", aad)
		require.NoError(t, err)
		return s
	}
	tests := []struct {
		name    string
		keyring *Keyring
		stored  string
		aad     []byte
		want    Inspection
	}{
		{name: "current aes value", keyring: byKey2, stored: enc(byKey2, aad), aad: aad,
			want: Inspection{KeyType: "aes", KeyName: "key2", Decryptable: true}},
		{name: "older key", keyring: byKey2, stored: enc(byKey1, aad), aad: aad,
			want: Inspection{KeyType: "aes", KeyName: "key1", Decryptable: true, NeedsRewrap: true}},
		{name: "not bound", keyring: byKey2, stored: enc(byKey2, nil), aad: aad,
			want: Inspection{KeyType: "aes", KeyName: "key2", Decryptable: true, NeedsRewrap: true}},
		{name: "caller without aad", keyring: byKey2, stored: enc(byKey2, nil), aad: nil,
			want: Inspection{KeyType: "aes", KeyName: "key2", Decryptable: true}},
		{name: "legacy plaintext", keyring: byKey2, stored: "legacy", aad: aad,
			want: Inspection{Plaintext: true, Decryptable: true, NeedsRewrap: true}},
		{name: "legacy plaintext under identity", keyring: identityFirst, stored: "legacy", aad: aad,
			want: Inspection{Plaintext: true, Decryptable: true, NeedsRewrap: true}},
		{name: "identity value under aes", keyring: byKey2, stored: "enc:identity:noname:v", aad: aad,
			want: Inspection{KeyType: "identity", KeyName: "noname", Decryptable: true, NeedsRewrap: true}},
		{name: "identity value under identity", keyring: identityFirst, stored: "enc:identity:noname:v", aad: aad,
			want: Inspection{KeyType: "identity", KeyName: "noname", Decryptable: true}},
		{name: "aes value under identity", keyring: identityFirst, stored: enc(byKey2, aad), aad: aad,
			want: Inspection{KeyType: "aes", KeyName: "key2", Decryptable: true, NeedsRewrap: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.keyring.Inspect(tt.stored, tt.aad))
		})
	}
}

func TestInspectUndecryptable(t *testing.T) {
	stored, err := mustKeyring(t, aesConfig("key1", 1)).Encrypt("v", nil)
	require.NoError(t, err)
	ins := mustKeyring(t, aesConfig("key2", 2)).Inspect(stored, nil)
	require.Equal(t, "aes", ins.KeyType)
	require.Equal(t, "key1", ins.KeyName)
	require.False(t, ins.Decryptable)
	require.False(t, ins.NeedsRewrap)
	require.ErrorIs(t, ins.Err, ErrUndecryptable)

	ins = mustKeyring(t).Inspect("enc:kms:k:p", nil)
	require.Equal(t, Inspection{KeyType: "kms", KeyName: "k", Err: ins.Err}, ins)
	require.ErrorContains(t, ins.Err, `unknown key type "kms"`)
}
