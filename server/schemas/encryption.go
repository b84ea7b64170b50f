package schemas

// The encryption routes are this server's own (upstream has none): they let
// an admin see and finish a key rotation.

// EncryptionKeyInfo is a configured key, in config order.
type EncryptionKeyInfo struct {
	Type string `json:"type"`
	Name string `json:"name"`
	// Encrypts is true for the first key, which encrypts new writes.
	Encrypts bool `json:"encrypts"`
}

// EncryptionColumnStatus counts the stored values of one sealed column.
type EncryptionColumnStatus struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Total  int    `json:"total"`
	// ByKey counts values by the key that wrote them, as "type:name"
	// ("identity:noname" for plaintext written through the identity key).
	ByKey map[string]int `json:"by_key"`
	// Plaintext counts values stored readable: identity-written or legacy.
	Plaintext int `json:"plaintext"`
	// Undecryptable counts values no configured key opens.
	Undecryptable int `json:"undecryptable"`
	// NeedsRewrap counts readable values that reencrypt would rewrite.
	NeedsRewrap int `json:"needs_rewrap"`
}

// EncryptionStatus is the answer of admin/encryption/status.
type EncryptionStatus struct {
	Keys    []EncryptionKeyInfo      `json:"keys"`
	Columns []EncryptionColumnStatus `json:"columns"`
	// UnknownKeys lists key names found in stored values that are not configured.
	UnknownKeys map[string]int `json:"unknown_keys"`
}

// ReencryptRequest asks for one batch of rewrapping, continuing at Cursor.
type ReencryptRequest struct {
	Cursor *string `json:"cursor"`
	Limit  int     `json:"limit"`
}

// ReencryptResult reports one batch; Cursor is null when the pass is done.
type ReencryptResult struct {
	Scanned       int     `json:"scanned"`
	Rewrapped     int     `json:"rewrapped"`
	Undecryptable int     `json:"undecryptable"`
	Cursor        *string `json:"cursor"`
	// Column is the column the batch ended in, for progress display.
	Column string `json:"column"`
}
