package db

import (
	"time"

	"github.com/uptrace/bun"
)

// Lease are the columns a background pipeline uses to claim a row.
type Lease struct {
	LockOwner     *string    `bun:"lock_owner"`
	LockToken     *string    `bun:"lock_token"`
	LockExpiresAt *time.Time `bun:"lock_expires_at"`
}

// Fleet is a row of fleets. Spec is JSON without SSH private keys; those
// are kept sealed in SSHPrivateKeys (JSON map of host to key).
type Fleet struct {
	bun.BaseModel `bun:"table:fleets,alias:f"`

	ID              string     `bun:"id,pk"`
	ProjectID       string     `bun:"project_id"`
	Name            string     `bun:"name"`
	CreatedAt       time.Time  `bun:"created_at"`
	LastProcessedAt time.Time  `bun:"last_processed_at"`
	Status          string     `bun:"status"`
	StatusMessage   *string    `bun:"status_message"`
	Spec            string     `bun:"spec"`
	SSHPrivateKeys  *string    `bun:"ssh_private_keys"`
	Deleted         bool       `bun:"deleted"`
	DeletedAt       *time.Time `bun:"deleted_at"`
	Lease

	// Events are stored with the row's next write (EventLog).
	Events EventLog `bun:"-"`
}

// Instance is a row of instances. RemoteConnectionInfo (SSH target with its
// private key) is stored sealed.
type Instance struct {
	bun.BaseModel `bun:"table:instances,alias:i"`

	ID                       string     `bun:"id,pk"`
	ProjectID                string     `bun:"project_id"`
	FleetID                  *string    `bun:"fleet_id"`
	Name                     string     `bun:"name"`
	InstanceNum              int        `bun:"instance_num"`
	CreatedAt                time.Time  `bun:"created_at"`
	StartedAt                *time.Time `bun:"started_at"`
	FinishedAt               *time.Time `bun:"finished_at"`
	LastProcessedAt          time.Time  `bun:"last_processed_at"`
	Status                   string     `bun:"status"`
	StatusMessage            *string    `bun:"status_message"`
	Unreachable              bool       `bun:"unreachable"`
	Health                   string     `bun:"health"`
	TerminationReason        *string    `bun:"termination_reason"`
	TerminationReasonMessage *string    `bun:"termination_reason_message"`
	Backend                  *string    `bun:"backend"`
	Region                   *string    `bun:"region"`
	Price                    *float64   `bun:"price"`
	Offer                    *string    `bun:"offer"`
	JobProvisioningData      *string    `bun:"job_provisioning_data"`
	RemoteConnectionInfo     *string    `bun:"remote_connection_info"`
	HostInfo                 *string    `bun:"host_info"`
	TotalBlocks              *int       `bun:"total_blocks"`
	BusyBlocks               int        `bun:"busy_blocks"`
	Deleted                  bool       `bun:"deleted"`
	// Requirements and Profile (JSON) are what a cloud instance is
	// provisioned for; AgentTokenHash is the sha256 (hex) of the token its
	// user data downloads the agent with.
	Requirements   *string `bun:"requirements"`
	Profile        *string `bun:"profile"`
	AgentTokenHash *string `bun:"agent_token_hash"`
	// HostAddress ("host:port", lower case) and HostKey (the SHA256
	// fingerprint of its SSH host key) identify an SSH fleet host: each is
	// unique among live instances, across projects.
	HostAddress *string `bun:"host_address"`
	HostKey     *string `bun:"host_key"`
	Lease

	// Events are stored with the row's next write (EventLog).
	Events EventLog `bun:"-"`
}

// Run is a row of runs.
type Run struct {
	bun.BaseModel `bun:"table:runs,alias:r"`

	ID                  string     `bun:"id,pk"`
	ProjectID           string     `bun:"project_id"`
	UserID              string     `bun:"user_id"`
	RepoID              *string    `bun:"repo_id"`
	FleetID             *string    `bun:"fleet_id"`
	RunName             string     `bun:"run_name"`
	SubmittedAt         time.Time  `bun:"submitted_at"`
	LastProcessedAt     time.Time  `bun:"last_processed_at"`
	Status              string     `bun:"status"`
	TerminationReason   *string    `bun:"termination_reason"`
	ResubmissionAttempt int        `bun:"resubmission_attempt"`
	RunSpec             string     `bun:"run_spec"`
	Priority            int        `bun:"priority"`
	DeploymentNum       int        `bun:"deployment_num"`
	NextTriggeredAt     *time.Time `bun:"next_triggered_at"`
	Deleted             bool       `bun:"deleted"`
	// DesiredReplicaCount is the replica count a service is scaled to (nil
	// until the runs pipeline first scales it).
	DesiredReplicaCount *int `bun:"desired_replica_count"`
	Lease

	// Events are stored with the row's next write (EventLog).
	Events EventLog `bun:"-"`
}

// Job is a row of jobs: one submission of one job of a run.
type Job struct {
	bun.BaseModel `bun:"table:jobs,alias:j"`

	ID                       string     `bun:"id,pk"`
	ProjectID                string     `bun:"project_id"`
	RunID                    string     `bun:"run_id"`
	FleetID                  *string    `bun:"fleet_id"`
	InstanceID               *string    `bun:"instance_id"`
	UsedInstanceID           *string    `bun:"used_instance_id"`
	RunName                  string     `bun:"run_name"`
	JobNum                   int        `bun:"job_num"`
	JobName                  string     `bun:"job_name"`
	ReplicaNum               int        `bun:"replica_num"`
	SubmissionNum            int        `bun:"submission_num"`
	DeploymentNum            int        `bun:"deployment_num"`
	SubmittedAt              time.Time  `bun:"submitted_at"`
	LastProcessedAt          time.Time  `bun:"last_processed_at"`
	FinishedAt               *time.Time `bun:"finished_at"`
	StartedAt                *time.Time `bun:"started_at"`     // when the runner started it
	LogsWantedAt             *time.Time `bun:"logs_wanted_at"` // when a client first asked for logs not pulled yet
	Status                   string     `bun:"status"`
	TerminationReason        *string    `bun:"termination_reason"`
	TerminationReasonMessage *string    `bun:"termination_reason_message"`
	ExitStatus               *int       `bun:"exit_status"`
	JobSpecData              string     `bun:"job_spec_data"`
	JobProvisioningData      *string    `bun:"job_provisioning_data"`
	JobRuntimeData           *string    `bun:"job_runtime_data"`
	RunnerTimestamp          *int64     `bun:"runner_timestamp"`
	DisconnectedAt           *time.Time `bun:"disconnected_at"`
	RemoveAt                 *time.Time `bun:"remove_at"`
	InstanceAssigned         bool       `bun:"instance_assigned"`
	Lease

	// Events are stored with the row's next write (EventLog).
	Events EventLog `bun:"-"`
}

// Repo is a row of repos (repo_id in the API is Name).
type Repo struct {
	bun.BaseModel `bun:"table:repos,alias:rp"`

	ID        string `bun:"id,pk"`
	ProjectID string `bun:"project_id"`
	Name      string `bun:"name"`
	Type      string `bun:"type"`
	Info      string `bun:"info"`
}

// RepoCreds is a user's credentials for a repo, stored sealed.
type RepoCreds struct {
	bun.BaseModel `bun:"table:repo_creds,alias:rc"`

	ID     string `bun:"id,pk"`
	RepoID string `bun:"repo_id"`
	UserID string `bun:"user_id"`
	Creds  string `bun:"creds"`
}

// Code is an uploaded code blob of a repo.
type Code struct {
	bun.BaseModel `bun:"table:codes,alias:c"`

	ID       string `bun:"id,pk"`
	RepoID   string `bun:"repo_id"`
	BlobHash string `bun:"blob_hash"`
	Blob     []byte `bun:"blob"`
}

// FileArchive is an uploaded files archive of a user.
type FileArchive struct {
	bun.BaseModel `bun:"table:file_archives,alias:fa"`

	ID       string `bun:"id,pk"`
	UserID   string `bun:"user_id"`
	BlobHash string `bun:"blob_hash"`
	Blob     []byte `bun:"blob"`
}

// HostKey is a pinned SSH host key.
type HostKey struct {
	bun.BaseModel `bun:"table:host_keys,alias:hk"`

	Host      string    `bun:"host,pk"`
	Port      int       `bun:"port,pk"`
	Key       string    `bun:"key"`
	CreatedAt time.Time `bun:"created_at"`
}
