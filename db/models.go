package db

import (
	"time"

	"github.com/uptrace/bun"
)

// User is a row of users. Token and SSHPrivateKey hold the stored (sealed)
// form; see Unseal.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	CreatedAt     time.Time `bun:"created_at"`
	Token         string    `bun:"token"`
	TokenHash     string    `bun:"token_hash"`
	GlobalRole    string    `bun:"global_role"`
	Email         *string   `bun:"email"`
	Active        bool      `bun:"active"`
	Deleted       bool      `bun:"deleted"`
	OriginalName  *string   `bun:"original_name"`
	SSHPrivateKey *string   `bun:"ssh_private_key"`
	SSHPublicKey  *string   `bun:"ssh_public_key"`
}

// Project is a row of projects. SSHPrivateKey is stored sealed.
type Project struct {
	bun.BaseModel `bun:"table:projects,alias:p"`

	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	CreatedAt     time.Time `bun:"created_at"`
	OwnerID       string    `bun:"owner_id"`
	IsPublic      bool      `bun:"is_public"`
	TemplatesRepo *string   `bun:"templates_repo"`
	Deleted       bool      `bun:"deleted"`
	OriginalName  *string   `bun:"original_name"`
	SSHPrivateKey string    `bun:"ssh_private_key"`
	SSHPublicKey  string    `bun:"ssh_public_key"`

	Owner *User `bun:"rel:belongs-to,join:owner_id=id"`
}

// Member is a row of members: a user's role in a project.
type Member struct {
	bun.BaseModel `bun:"table:members,alias:m"`

	ID          string `bun:"id,pk"`
	ProjectID   string `bun:"project_id"`
	UserID      string `bun:"user_id"`
	ProjectRole string `bun:"project_role"`
	MemberNum   *int   `bun:"member_num"`

	User *User `bun:"rel:belongs-to,join:user_id=id"`
}

// Secret is a row of secrets. Value is stored sealed.
type Secret struct {
	bun.BaseModel `bun:"table:secrets,alias:s"`

	ID        string    `bun:"id,pk"`
	ProjectID string    `bun:"project_id"`
	Name      string    `bun:"name"`
	Value     string    `bun:"value"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// Backend is a row of backends: a project's configured cloud backend.
// Config (and SourceConfig, the configuration as given) is JSON without
// credentials; Auth and SourceAuth hold the credentials, sealed.
type Backend struct {
	bun.BaseModel `bun:"table:backends,alias:b"`

	ID           string  `bun:"id,pk"`
	ProjectID    string  `bun:"project_id"`
	Type         string  `bun:"type"`
	Config       string  `bun:"config"`
	Auth         string  `bun:"auth"`
	SourceConfig *string `bun:"source_config"`
	SourceAuth   *string `bun:"source_auth"`
}

// PublicKey is a row of user_public_keys.
type PublicKey struct {
	bun.BaseModel `bun:"table:user_public_keys,alias:k"`

	ID          string    `bun:"id,pk"`
	UserID      string    `bun:"user_id"`
	Name        string    `bun:"name"`
	Type        string    `bun:"type"`
	Fingerprint string    `bun:"fingerprint"`
	Key         string    `bun:"key"`
	AddedAt     time.Time `bun:"added_at"`
}
