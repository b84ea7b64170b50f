package services

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// userKeyPair generates the server-managed SSH key pair of a user as the
// official client expects it: RSA-2048, private key unencrypted PKCS#8 PEM,
// public key in OpenSSH format followed by the username.
func userKeyPair(username string) (private, public string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", fmt.Errorf("generate rsa key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", fmt.Errorf("encode rsa key: %w", err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encode rsa public key: %w", err)
	}
	private = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	public = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + username + "\n"
	return private, public, nil
}

// projectKeyPair generates the key the server uses to reach a project's
// instances. Ed25519 is fast to make and accepted by every supported sshd.
func projectKeyPair(project string) (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "dstack project "+project)
	if err != nil {
		return "", "", fmt.Errorf("encode ed25519 key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode ed25519 public key: %w", err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " dstack-project-" + project, nil
}

// tokenHash is how tokens are looked up: sha256 hex of the plaintext.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomHex returns n random bytes as hex, for soft-delete renames.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
