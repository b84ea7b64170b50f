package schemas

import (
	"encoding/json"
	"time"
)

// ProjectRole is a user's role in one project.
type ProjectRole string

// Project roles, strongest first.
const (
	ProjectRoleAdmin   ProjectRole = "admin"
	ProjectRoleManager ProjectRole = "manager"
	ProjectRoleUser    ProjectRole = "user"
)

// Valid reports whether r is a known role.
func (r ProjectRole) Valid() bool {
	return r == ProjectRoleAdmin || r == ProjectRoleManager || r == ProjectRoleUser
}

// MemberPermissions are what a member may do beyond their role.
type MemberPermissions struct {
	CanManageSSHFleets bool `json:"can_manage_ssh_fleets"`
	CanManageSecrets   bool `json:"can_manage_secrets"`
}

// Member is a project member.
type Member struct {
	User        User              `json:"user"`
	ProjectRole ProjectRole       `json:"project_role"`
	Permissions MemberPermissions `json:"permissions"`
}

// BackendInfo is a configured backend of a project.
type BackendInfo struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
}

// Project is a project as the API shows it. templates_repo is omitted when null.
type Project struct {
	ProjectID     string        `json:"project_id"`
	ProjectName   string        `json:"project_name"`
	Owner         User          `json:"owner"`
	CreatedAt     *time.Time    `json:"created_at"`
	Backends      []BackendInfo `json:"backends"`
	Members       []Member      `json:"members"`
	IsPublic      bool          `json:"is_public"`
	TemplatesRepo *string       `json:"templates_repo,omitempty"`
}

// ProjectsInfoList is the projects/list answer when a total count is asked for.
type ProjectsInfoList struct {
	TotalCount int       `json:"total_count"`
	Projects   []Project `json:"projects"`
}

// ListProjectsRequest is the optional body of projects/list.
type ListProjectsRequest struct {
	IncludeNotJoined *bool      `json:"include_not_joined"`
	ReturnTotalCount bool       `json:"return_total_count"`
	NamePattern      *string    `json:"name_pattern"`
	PrevCreatedAt    *time.Time `json:"prev_created_at"`
	PrevID           *string    `json:"prev_id"`
	Limit            *int       `json:"limit"`
	Ascending        bool       `json:"ascending"`
}

// CreateProjectRequest creates a project; the caller becomes its admin.
type CreateProjectRequest struct {
	ProjectName   string  `json:"project_name"`
	IsPublic      bool    `json:"is_public"`
	TemplatesRepo *string `json:"templates_repo"`
}

// DeleteProjectsRequest names projects to delete.
type DeleteProjectsRequest struct {
	ProjectsNames []string `json:"projects_names"`
}

// UpdateProjectRequest changes a project's visibility or templates repo.
type UpdateProjectRequest struct {
	IsPublic           *bool   `json:"is_public"`
	TemplatesRepo      *string `json:"templates_repo"`
	ResetTemplatesRepo bool    `json:"reset_templates_repo"`
}

// MemberSetting gives a user (by name or email) a role.
type MemberSetting struct {
	Username    string      `json:"username"`
	ProjectRole ProjectRole `json:"project_role"`
}

// SetProjectMembersRequest replaces the member list; add_members takes the same shape.
type SetProjectMembersRequest struct {
	Members []MemberSetting `json:"members"`
}

// RemoveProjectMembersRequest removes users from a project.
type RemoveProjectMembersRequest struct {
	Usernames []string `json:"usernames"`
}
