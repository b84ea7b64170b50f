package schemas

import (
	"encoding/json"
	"time"
)

// RunSpec is what a run is asked to be (as the client sends it).
type RunSpec struct {
	RunName           *string          `json:"run_name"`
	RepoID            *string          `json:"repo_id"`
	RepoData          json.RawMessage  `json:"repo_data"`
	RepoCodeHash      *string          `json:"repo_code_hash"`
	RepoDir           *string          `json:"repo_dir"`
	FileArchives      []FileArchiveRef `json:"file_archives"`
	WorkingDir        *string          `json:"working_dir"`
	ConfigurationPath *string          `json:"configuration_path"`
	Configuration     RunConfiguration `json:"configuration"`
	Profile           *Profile         `json:"profile"`
	SSHKeyPub         *string          `json:"ssh_key_pub"`

	stored json.RawMessage // see StoredRunSpec
}

// StoredRunSpec is a run spec that marshals as the canonical JSON it was
// stored as, without decoding it: listing runs re-encodes nothing. Its
// fields are unset; use it only in answers. Answering 100 runs of one job
// from their stored specs takes 8.0 ms and 0.4 MB this way, against 46 ms
// and 6.7 MB decoded and encoded again (BenchmarkRunAnswer, 2 cores).
func StoredRunSpec(data []byte) RunSpec { return RunSpec{stored: data} }

// MarshalJSON writes the stored JSON when there is one, else the fields.
func (s RunSpec) MarshalJSON() ([]byte, error) {
	if s.stored != nil {
		return s.stored, nil
	}
	type fields RunSpec
	return json.Marshal(fields(s))
}

// FileArchiveRef maps an uploaded archive to a path in the job.
type FileArchiveRef struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// Requirements are what a job needs of an instance.
type Requirements struct {
	Resources      ResourcesSpec   `json:"resources"`
	MaxPrice       *float64        `json:"max_price"`
	Spot           *bool           `json:"spot"`
	Reservation    *string         `json:"reservation"`
	Multinode      *bool           `json:"multinode"`
	BackendOptions json.RawMessage `json:"backend_options,omitempty"`
}

// JobSSHKey is the key pair a job's container accepts.
type JobSSHKey struct {
	Private string `json:"private"`
	Public  string `json:"public"`
}

// AppSpec is a port a job exposes as an app.
type AppSpec struct {
	Port           int               `json:"port"`
	MapToPort      *int              `json:"map_to_port"`
	AppName        string            `json:"app_name"`
	URLPath        *string           `json:"url_path"`
	URLQueryParams map[string]string `json:"url_query_params"`
}

// UnixUser is the user a job runs as.
type UnixUser struct {
	UID       *int    `json:"uid"`
	GID       *int    `json:"gid"`
	Username  *string `json:"username"`
	Groupname *string `json:"groupname"`
}

// JobRetry is a job's resolved retry policy.
type JobRetry struct {
	OnEvents []RetryEvent `json:"on_events"`
	Duration int          `json:"duration"`
}

// JobSpec is one job of a run.
type JobSpec struct {
	ReplicaNum        int                `json:"replica_num"`
	JobNum            int                `json:"job_num"`
	JobName           string             `json:"job_name"`
	JobsPerReplica    int                `json:"jobs_per_replica"`
	ReplicaGroup      string             `json:"replica_group"`
	AppSpecs          []AppSpec          `json:"app_specs"`
	User              *UnixUser          `json:"user"`
	Commands          []string           `json:"commands"`
	Env               map[string]string  `json:"env"`
	HomeDir           *string            `json:"home_dir"`
	ImageName         string             `json:"image_name"`
	Privileged        bool               `json:"privileged"`
	SingleBranch      *bool              `json:"single_branch"`
	MaxDuration       *int               `json:"max_duration"`
	StopDuration      *int               `json:"stop_duration"`
	UtilizationPolicy *UtilizationPolicy `json:"utilization_policy"`
	RegistryAuth      *RegistryAuth      `json:"registry_auth"`
	Requirements      Requirements       `json:"requirements"`
	Retry             *JobRetry          `json:"retry"`
	Volumes           []json.RawMessage  `json:"volumes"`
	SSHKey            *JobSSHKey         `json:"ssh_key"`
	WorkingDir        *string            `json:"working_dir"`
	RepoData          json.RawMessage    `json:"repo_data"`
	RepoCodeHash      *string            `json:"repo_code_hash"`
	RepoDir           string             `json:"repo_dir"`
	RepoExistsAction  *string            `json:"repo_exists_action"`
	FileArchives      []FileArchiveRef   `json:"file_archives"`
	ServicePort       *int               `json:"service_port"`
	Probes            []ProbeConfig      `json:"probes"`
	NodeGroupIndex    int                `json:"node_group_index"`
	NodeGroupName     string             `json:"node_group_name"`
	NodeGroupJobIndex int                `json:"node_group_job_index"`

	stored json.RawMessage // see StoredJobSpec
}

// StoredJobSpec is a job spec that marshals as the canonical JSON it was
// stored as, with only its identity fields set; use it only in answers.
func StoredJobSpec(data []byte, replicaNum, jobNum int) JobSpec {
	return JobSpec{ReplicaNum: replicaNum, JobNum: jobNum, stored: data}
}

// MarshalJSON writes the stored JSON when there is one, else the fields.
func (s JobSpec) MarshalJSON() ([]byte, error) {
	if s.stored != nil {
		return s.stored, nil
	}
	type fields JobSpec
	return json.Marshal(fields(s))
}

// JobRuntimeData is how a job runs on its instance.
type JobRuntimeData struct {
	NetworkMode string         `json:"network_mode"`
	GPU         *int           `json:"gpu"`
	CPU         *float64       `json:"cpu"`
	Memory      *float64       `json:"memory"`
	Ports       map[string]int `json:"ports"`
	VolumeNames []string       `json:"volume_names"`
	Offer       *InstanceOffer `json:"offer"`
	WorkingDir  *string        `json:"working_dir"`
	Username    *string        `json:"username"`
}

// ProbeStatus is a service probe's state.
type ProbeStatus struct {
	SuccessStreak int `json:"success_streak"`
}

// JobSubmission is one attempt at running a job.
type JobSubmission struct {
	ID                       string               `json:"id"`
	SubmissionNum            int                  `json:"submission_num"`
	DeploymentNum            int                  `json:"deployment_num"`
	SubmittedAt              time.Time            `json:"submitted_at"`
	LastProcessedAt          time.Time            `json:"last_processed_at"`
	FinishedAt               *time.Time           `json:"finished_at"`
	InactivitySecs           *int                 `json:"inactivity_secs"`
	Status                   JobStatus            `json:"status"`
	StatusMessage            string               `json:"status_message"`
	TerminationReason        *string              `json:"termination_reason"`
	TerminationReasonMessage *string              `json:"termination_reason_message"`
	ExitStatus               *int                 `json:"exit_status"`
	JobProvisioningData      *JobProvisioningData `json:"job_provisioning_data"`
	JobRuntimeData           *JobRuntimeData      `json:"job_runtime_data"`
	Error                    *string              `json:"error"`
	Probes                   []ProbeStatus        `json:"probes"`
	ImagePullProgress        json.RawMessage      `json:"image_pull_progress"`
}

// JobConnectionInfo tells the CLI how to attach to a running job.
type JobConnectionInfo struct {
	IDEName            *string  `json:"ide_name"`
	AttachedIDEURL     *string  `json:"attached_ide_url"`
	ProxiedIDEURL      *string  `json:"proxied_ide_url"`
	AttachedSSHCommand []string `json:"attached_ssh_command"`
	ProxiedSSHCommand  []string `json:"proxied_ssh_command"`
}

// Job is a job with its submissions, oldest first.
type Job struct {
	JobSpec           JobSpec            `json:"job_spec"`
	JobSubmissions    []JobSubmission    `json:"job_submissions"`
	JobConnectionInfo *JobConnectionInfo `json:"job_connection_info,omitempty"`
}

// ServiceModelSpec is the model a service publishes: its name, the base URL
// of its OpenAI-compatible API and its type ("chat").
type ServiceModelSpec struct {
	Name    string `json:"name"`
	BaseURL string `json:"base_url"`
	Type    string `json:"type"`
}

// ServiceSpec is a service run's `service`: where it is published. URLs
// without a host are relative to the server's URL.
type ServiceSpec struct {
	URL     string            `json:"url"`
	Model   *ServiceModelSpec `json:"model"`
	Options map[string]any    `json:"options"`
}

// RunFleet names the fleet a run landed on.
type RunFleet struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Run is a run as the API shows it.
type Run struct {
	ID                  string          `json:"id"`
	ProjectName         string          `json:"project_name"`
	User                string          `json:"user"`
	Fleet               *RunFleet       `json:"fleet"`
	SubmittedAt         time.Time       `json:"submitted_at"`
	LastProcessedAt     time.Time       `json:"last_processed_at"`
	Status              RunStatus       `json:"status"`
	StatusMessage       string          `json:"status_message"`
	TerminationReason   *string         `json:"termination_reason"`
	RunSpec             RunSpec         `json:"run_spec"`
	Jobs                []Job           `json:"jobs"`
	LatestJobSubmission *JobSubmission  `json:"latest_job_submission"`
	Cost                float64         `json:"cost"`
	Service             json.RawMessage `json:"service"`
	DeploymentNum       int             `json:"deployment_num"`
	Error               *string         `json:"error"`
	Deleted             *bool           `json:"deleted"`
	NextTriggeredAt     *time.Time      `json:"next_triggered_at"`
}

// JobPlan is one job's part of a run plan.
type JobPlan struct {
	JobSpec     JobSpec         `json:"job_spec"`
	Offers      []InstanceOffer `json:"offers"`
	TotalOffers int             `json:"total_offers"`
	MaxPrice    *float64        `json:"max_price"`
}

// RunPlan is the answer of runs/get_plan.
type RunPlan struct {
	ProjectName      string    `json:"project_name"`
	User             string    `json:"user"`
	RunSpec          RunSpec   `json:"run_spec"`
	EffectiveRunSpec *RunSpec  `json:"effective_run_spec"`
	JobPlans         []JobPlan `json:"job_plans"`
	CurrentResource  *Run      `json:"current_resource"`
	Action           string    `json:"action"`
}

// GetRunPlanRequest is the body of runs/get_plan.
type GetRunPlanRequest struct {
	RunSpec              RunSpec `json:"run_spec"`
	MaxOffers            *int    `json:"max_offers"`
	FullOffers           bool    `json:"full_offers"`
	UnallocatedResources bool    `json:"unallocated_resources"`
	ForOffersOnly        bool    `json:"for_offers_only"`
}

// ApplyRunPlanInput is the plan a client applies.
type ApplyRunPlanInput struct {
	RunSpec         RunSpec `json:"run_spec"`
	CurrentResource *Run    `json:"current_resource"`
}

// ApplyRunPlanRequest is the body of runs/apply.
type ApplyRunPlanRequest struct {
	Plan  ApplyRunPlanInput `json:"plan"`
	Force bool              `json:"force"`
}

// ListRunsRequest is the body of runs/list.
type ListRunsRequest struct {
	ProjectName         *string    `json:"project_name"`
	RepoID              *string    `json:"repo_id"`
	Username            *string    `json:"username"`
	OnlyActive          bool       `json:"only_active"`
	IncludeJobs         *bool      `json:"include_jobs"`
	JobSubmissionsLimit *int       `json:"job_submissions_limit"`
	PrevSubmittedAt     *time.Time `json:"prev_submitted_at"`
	PrevRunID           *string    `json:"prev_run_id"`
	Limit               *int       `json:"limit"`
	Ascending           bool       `json:"ascending"`
}

// GetRunRequest names a run by name (live runs) or id (also deleted).
type GetRunRequest struct {
	RunName *string `json:"run_name"`
	ID      *string `json:"id"`
}

// StopRunsRequest stops runs, gracefully or not.
type StopRunsRequest struct {
	RunsNames []string `json:"runs_names"`
	Abort     bool     `json:"abort"`
}

// DeleteRunsRequest deletes finished runs.
type DeleteRunsRequest struct {
	RunsNames []string `json:"runs_names"`
}
