package schemas

import "encoding/json"

// JobState is a state the runner reports for its job in PullResponse.JobStates.
type JobState string

// Job states reported by the runner.
const (
	JobStateRunning     JobState = "running"
	JobStateDone        JobState = "done"
	JobStateFailed      JobState = "failed"
	JobStateTerminated  JobState = "terminated"
	JobStateTerminating JobState = "terminating"
)

// JobStateEvent is one job state change; Timestamp is in milliseconds and
// shares the runner's monotonic clock with log events.
type JobStateEvent struct {
	State              JobState `json:"state"`
	Timestamp          int64    `json:"timestamp"`
	TerminationReason  string   `json:"termination_reason"`
	TerminationMessage string   `json:"termination_message"`
	ExitStatus         *int     `json:"exit_status"`
}

// LogEvent is a chunk of output. Message is raw bytes (base64 in JSON);
// Timestamp is in milliseconds, strictly increasing within one runner.
type LogEvent struct {
	Message   []byte `json:"message"`
	Timestamp int64  `json:"timestamp"`
}

// SubmitBody is the body of POST /api/submit. RunSpec is the deprecated
// top-level copy of Run.RunSpec that the server still sends.
type SubmitBody struct {
	Run             Run               `json:"run"`
	JobSpec         JobSpec           `json:"job_spec"`
	JobSubmission   JobSubmission     `json:"job_submission"`
	ClusterInfo     ClusterInfo       `json:"cluster_info"`
	Secrets         map[string]string `json:"secrets"`
	RepoCredentials *RepoCredentials  `json:"repo_credentials"`
	LogQuotaHour    int               `json:"log_quota_hour"`
	RunSpec         *RunSpec          `json:"run_spec,omitempty"`
}

// PullResponse is returned by GET /api/pull?timestamp=T: every event newer
// than T, plus the newest timestamp the runner has issued (LastUpdated).
type PullResponse struct {
	JobStates         []JobStateEvent `json:"job_states"`
	JobLogs           []LogEvent      `json:"job_logs"`
	RunnerLogs        []LogEvent      `json:"runner_logs"`
	LastUpdated       int64           `json:"last_updated"`
	NoConnectionsSecs int64           `json:"no_connections_secs"`
	HasMore           bool            `json:"has_more"`
}

// JobInfoResponse is returned by POST /api/run.
type JobInfoResponse struct {
	WorkingDir string `json:"working_dir"`
	Username   string `json:"username"`
}

// Run is the subset of the server's Run model sent to the runner.
type Run struct {
	ID      string  `json:"id"`
	RunSpec RunSpec `json:"run_spec"`
}

// RunSpec is the subset of the run spec sent to the runner. Configuration is
// passed through verbatim; the runner does not interpret it.
type RunSpec struct {
	RunName           string          `json:"run_name"`
	RepoID            string          `json:"repo_id"`
	RepoData          RepoData        `json:"repo_data"`
	Configuration     json.RawMessage `json:"configuration,omitempty"`
	ConfigurationPath string          `json:"configuration_path"`
}

// JobSubmission identifies the job submission.
type JobSubmission struct {
	ID string `json:"id"`
}

// JobSpec is the subset of the job spec the runner needs. Commands is an argv
// (the server sends [shell, "-i", "-c", script]).
type JobSpec struct {
	ReplicaNum       int               `json:"replica_num"`
	JobNum           int               `json:"job_num"`
	JobsPerReplica   int               `json:"jobs_per_replica"`
	User             *User             `json:"user"`
	Commands         []string          `json:"commands"`
	Entrypoint       []string          `json:"entrypoint"`
	Env              map[string]string `json:"env"`
	SingleBranch     bool              `json:"single_branch"`
	MaxDuration      int               `json:"max_duration"`
	SSHKey           *SSHKey           `json:"ssh_key"`
	WorkingDir       *string           `json:"working_dir"`
	RepoDir          *string           `json:"repo_dir"`
	RepoData         *RepoData         `json:"repo_data"`
	RepoExistsAction *string           `json:"repo_exists_action"`
	FileArchives     []FileArchive     `json:"file_archives"`
}

// ClusterInfo describes the other nodes of a multi-node job.
type ClusterInfo struct {
	JobIPs      []string `json:"job_ips"`
	MasterJobIP string   `json:"master_job_ip"`
	GPUsPerJob  int      `json:"gpus_per_job"`
	GPUsPerNode []int    `json:"gpus_per_node"`
}

// SSHKey is the key pair used between the nodes of a cluster.
type SSHKey struct {
	Private string `json:"private"`
	Public  string `json:"public"`
}

// RepoCredentials are the clone credentials of a remote repo.
type RepoCredentials struct {
	CloneURL   string  `json:"clone_url"`
	PrivateKey *string `json:"private_key"`
	OAuthToken *string `json:"oauth_token"`
}

// RepoData describes the repo; RepoType is "remote", "local" or "virtual".
type RepoData struct {
	RepoType        string `json:"repo_type"`
	RepoBranch      string `json:"repo_branch"`
	RepoHash        string `json:"repo_hash"`
	RepoConfigName  string `json:"repo_config_name"`
	RepoConfigEmail string `json:"repo_config_email"`
}

// Values of JobSpec.RepoExistsAction.
const (
	RepoExistsActionError = "error"
	RepoExistsActionSkip  = "skip"
)

// FileArchive is an uploaded archive (POST /api/upload_archive, filename = ID)
// extracted at Path (relative paths are relative to the working dir).
type FileArchive struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// User is the user the job runs as; every field is optional.
type User struct {
	UID       *uint32 `json:"uid"`
	Username  *string `json:"username"`
	GID       *uint32 `json:"gid"`
	Groupname *string `json:"groupname"`
}

// GPUMetrics is the per-GPU part of SystemMetrics.
type GPUMetrics struct {
	GPUMemoryUsage uint64 `json:"gpu_memory_usage_bytes"`
	GPUUtil        uint64 `json:"gpu_util_percent"`
}

// SystemMetrics is returned by GET /api/metrics (cgroup counters of the job).
type SystemMetrics struct {
	Timestamp        int64        `json:"timestamp_micro"`
	CPUUsage         uint64       `json:"cpu_usage_micro"`
	MemoryUsage      uint64       `json:"memory_usage_bytes"`
	MemoryWorkingSet uint64       `json:"memory_working_set_bytes"`
	GPUMetrics       []GPUMetrics `json:"gpus"`
}
