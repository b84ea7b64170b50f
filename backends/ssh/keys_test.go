package ssh

import (
	"crypto/dsa" //nolint:staticcheck // only to prove DSA keys are rejected
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func pemOf(t *testing.T, key any, passphrase string) []byte {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(key, "")
	}
	require.NoError(t, err)
	return pem.EncodeToMemory(block)
}

func dsaPEM(t *testing.T) []byte {
	t.Helper()
	var k dsa.PrivateKey
	require.NoError(t, dsa.GenerateParameters(&k.Parameters, rand.Reader, dsa.L1024N160))
	require.NoError(t, dsa.GenerateKey(&k, rand.Reader))
	der, err := asn1.Marshal(struct{ Version, P, Q, G, Y, X *big.Int }{big.NewInt(0), k.P, k.Q, k.G, k.Y, k.X})
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: der})
}

func TestParsePrivateKey(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	for _, tc := range []struct {
		name string
		pem  []byte
		err  string
	}{
		{"ed25519", pemOf(t, edKey, ""), ""},
		{"rsa openssh", pemOf(t, rsaKey, ""), ""},
		{"rsa pkcs1", pkcs1, ""},
		{"ecdsa", pemOf(t, ecKey, ""), ""},
		{"encrypted", pemOf(t, edKey, "secret"), "encrypted with a passphrase"},
		{"dsa", dsaPEM(t), "unsupported"},
		{"empty", nil, "no SSH private key given"},
		{"garbage", []byte("hello"), "invalid SSH private key: not a PEM private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tc.pem)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
			require.Equal(t, KindInvalidKey, KindOf(err), "kind of %v", err)
			require.False(t, len(tc.pem) > 40 && strings.Contains(err.Error(), string(tc.pem[40:60])), "error leaks key material: %v", err)
		})
	}
	line, err := PublicKeyLine(pemOf(t, edKey, ""))
	require.False(t, err != nil || !strings.HasPrefix(line, "ssh-ed25519 ") || strings.Contains(line, "\n"), "PublicKeyLine: %q %v", line, err)
}

func TestTargetValidateAndString(t *testing.T) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	key := pemOf(t, k, "")
	jump := &Target{Host: "bastion", User: "j", PrivateKey: key}
	tg := Target{Host: "10.0.0.5", Port: 2222, User: "ubuntu", PrivateKey: key, ProxyJump: jump}
	require.NoError(t, tg.validate())
	assert.Equal(t, "ubuntu@10.0.0.5:2222 via j@bastion:22", tg.String(), "String()")
	assert.True(t, Target(tg).poolKey() != (Target{Host: "10.0.0.5", Port: 2222, User: "ubuntu", PrivateKey: key}).poolKey(), "pool key ignores the jump")
	for _, bad := range []Target{
		{User: "u", PrivateKey: key},
		{Host: "h", PrivateKey: key},
		{Host: "h", User: "u", Port: 70000, PrivateKey: key},
		{Host: "h", User: "u"},
		{Host: "h", User: "u", PrivateKey: key, ProxyJump: &Target{Host: "j", User: "u"}},
	} {
		assert.Error(t, bad.validate(), "%+v accepted", bad)
	}
}

func TestMergeAuthorizedKeys(t *testing.T) {
	k1 := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	k2 := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmo7XrJtPOmmsREExDJn8W7bKk3YtJgvhrcjZVJa2Wv"
	for _, tc := range []struct {
		name, existing string
		keys           []string
		want, err      string
	}{
		{"empty file", "", []string{k1 + " alice@laptop"}, k1 + " alice@laptop # added by dstack\n", ""},
		{"present untagged", k1 + " mine\n", []string{k1}, "", ""},
		{"present with options", `from="10.0.0.0/8" ` + k1 + "\n", []string{k1 + " other comment"}, "", ""},
		{"dedup within list", "", []string{k1, k1 + " again"}, k1 + " # added by dstack\n", ""},
		{"no trailing newline", k2, []string{k1}, "\n" + k1 + " # added by dstack\n", ""},
		{"comment whitespace", "", []string{k1 + "  a \t b  "}, k1 + " a b # added by dstack\n", ""},
		{"two keys in one entry", "", []string{k1 + "\n" + k2}, "", "more than one key"},
		{"invalid", "", []string{"ssh-ed25519 notbase64"}, "", "invalid authorized key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeAuthorizedKeys([]byte(tc.existing), tc.keys)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)

		})
	}
}

func TestStripAuthorizedKeys(t *testing.T) {
	in := "# my keys\nssh-ed25519 AAAA1 me\nssh-ed25519 AAAA2 fleet # added by dstack\n" +
		"ssh-ed25519 AAAA3 # added by dstack-shim\nssh-ed25519 AAAA4 x # added by dstack  \r\nlast-without-newline"
	got, n := StripAuthorizedKeys([]byte(in))
	want := "# my keys\nssh-ed25519 AAAA1 me\nssh-ed25519 AAAA3 # added by dstack-shim\nlast-without-newline"
	require.False(t, n != 2 || string(got) != want, "got %d lines removed:\n%q\nwant\n%q", n, got, want)
}
