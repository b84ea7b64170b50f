package db

import "fmt"

// Sealer encrypts values at rest and opens them again; *crypto.Keyring is
// the implementation. aad binds a ciphertext to its table, column and row.
type Sealer interface {
	Encrypt(plaintext string, aad []byte) (string, error)
	Decrypt(stored string, aad []byte) (string, error)
}

// Column names a column whose values are stored sealed.
type Column struct {
	Table string
	Name  string
}

// The sealed columns. Every value written to one of them goes through Seal,
// and every read through Unseal; encryption status and re-encryption walk this
// list, so a new sealed column is added here and nowhere else.
var (
	UsersToken         = Column{"users", "token"}
	UsersSSHPrivateKey = Column{"users", "ssh_private_key"}
	ProjectsSSHKey     = Column{"projects", "ssh_private_key"}
	SecretsValue       = Column{"secrets", "value"}
	BackendsAuth       = Column{"backends", "auth"}
	BackendsSourceAuth = Column{"backends", "source_auth"}
)

// SealedColumns lists every sealed column.
var SealedColumns = []Column{UsersToken, UsersSSHPrivateKey, ProjectsSSHKey, SecretsValue, BackendsAuth, BackendsSourceAuth}

// String is "table.column".
func (c Column) String() string { return c.Table + "." + c.Name }

// AAD is the associated data that binds a value to its row.
func (c Column) AAD(rowID string) []byte { return []byte(c.Table + "." + c.Name + ":" + rowID) }

// Seal encrypts plain for column c of row id.
func Seal(s Sealer, c Column, id, plain string) (string, error) {
	v, err := s.Encrypt(plain, c.AAD(id))
	if err != nil {
		return "", fmt.Errorf("encrypt %s of %s: %w", c, id, err)
	}
	return v, nil
}

// Unseal decrypts the stored value of column c of row id.
func Unseal(s Sealer, c Column, id, stored string) (string, error) {
	v, err := s.Decrypt(stored, c.AAD(id))
	if err != nil {
		return "", fmt.Errorf("decrypt %s of %s: %w", c, id, err)
	}
	return v, nil
}
