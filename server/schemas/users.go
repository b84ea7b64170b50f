package schemas

import "time"

// GlobalRole is a user's server-wide role.
type GlobalRole string

// Global roles.
const (
	GlobalRoleAdmin GlobalRole = "admin"
	GlobalRoleUser  GlobalRole = "user"
)

// Valid reports whether r is a known role.
func (r GlobalRole) Valid() bool { return r == GlobalRoleAdmin || r == GlobalRoleUser }

// UserPermissions are the server-wide permissions derived from the role and
// the server's default_permissions.
type UserPermissions struct {
	CanCreateProjects bool `json:"can_create_projects"`
}

// User is a user as the API shows it.
type User struct {
	ID           string          `json:"id"`
	Username     string          `json:"username"`
	CreatedAt    *time.Time      `json:"created_at"`
	GlobalRole   GlobalRole      `json:"global_role"`
	Email        *string         `json:"email"`
	Active       bool            `json:"active"`
	Permissions  UserPermissions `json:"permissions"`
	SSHPublicKey *string         `json:"ssh_public_key"`
}

// UserTokenCreds carries a user's API token.
type UserTokenCreds struct {
	Token string `json:"token"`
}

// UserWithCreds is a user with their token and server-managed SSH key pair;
// only the user themselves and global admins see it.
type UserWithCreds struct {
	User
	Creds         UserTokenCreds `json:"creds"`
	SSHPrivateKey *string        `json:"ssh_private_key"`
}

// UsersInfoList is the users/list answer when a total count is asked for.
type UsersInfoList struct {
	TotalCount int    `json:"total_count"`
	Users      []User `json:"users"`
}

// ListUsersRequest is the optional body of users/list.
type ListUsersRequest struct {
	ReturnTotalCount bool       `json:"return_total_count"`
	NamePattern      *string    `json:"name_pattern"`
	PrevCreatedAt    *time.Time `json:"prev_created_at"`
	PrevID           *string    `json:"prev_id"`
	Limit            *int       `json:"limit"`
	Ascending        bool       `json:"ascending"`
}

// GetUserRequest names a user.
type GetUserRequest struct {
	Username string `json:"username"`
}

// CreateUserRequest creates a user; users/update takes the same shape.
type CreateUserRequest struct {
	Username   string     `json:"username"`
	GlobalRole GlobalRole `json:"global_role"`
	Email      *string    `json:"email"`
	Active     *bool      `json:"active"`
}

// UpdateUserRequest updates a user's role, email and active flag.
type UpdateUserRequest = CreateUserRequest

// RefreshTokenRequest names the user whose token is replaced.
type RefreshTokenRequest struct {
	Username string `json:"username"`
}

// DeleteUsersRequest names users to delete.
type DeleteUsersRequest struct {
	Users []string `json:"users"`
}

// PublicKeyInfo is an SSH public key a user registered.
type PublicKeyInfo struct {
	ID          string    `json:"id"`
	AddedAt     time.Time `json:"added_at"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Fingerprint string    `json:"fingerprint"`
}

// AddPublicKeyRequest registers an SSH public key (authorized_keys format).
// Username is this server's extension: a global admin may register a key
// for another user (the console over SSH); null means the caller.
type AddPublicKeyRequest struct {
	Key      string  `json:"key"`
	Name     *string `json:"name"`
	Username *string `json:"username,omitempty"`
}

// DeletePublicKeysRequest removes keys by id.
type DeletePublicKeysRequest struct {
	IDs []string `json:"ids"`
}
