package schemas

// TaskStatus is the lifecycle status of a shim task.
//
//	pending -> preparing -> pulling -> creating -> running -> terminated
//	   |          |            |           |
//	   +----------+------------+-----------+--------------> terminated
type TaskStatus string

// Task statuses reported by the shim.
const (
	TaskStatusPending    TaskStatus = "pending"
	TaskStatusPreparing  TaskStatus = "preparing"
	TaskStatusPulling    TaskStatus = "pulling"
	TaskStatusCreating   TaskStatus = "creating"
	TaskStatusRunning    TaskStatus = "running"
	TaskStatusTerminated TaskStatus = "terminated"
)

// NetworkMode is the container network mode requested by the server.
type NetworkMode string

// Network modes accepted in TaskConfigBody.NetworkMode.
const (
	NetworkModeHost   NetworkMode = "host"
	NetworkModeBridge NetworkMode = "bridge"
)

// TerminationReason is a lower-case reason string the server maps onto its
// JobTerminationReason enum.
type TerminationReason string

// Termination reasons produced by the shim and the runner.
const (
	TerminationReasonExecutorError            TerminationReason = "executor_error"
	TerminationReasonCreatingContainerError   TerminationReason = "creating_container_error"
	TerminationReasonContainerExitedWithError TerminationReason = "container_exited_with_error"
	TerminationReasonDoneByRunner             TerminationReason = "done_by_runner"
	TerminationReasonTerminatedByUser         TerminationReason = "terminated_by_user"
	TerminationReasonTerminatedByServer       TerminationReason = "terminated_by_server"
	TerminationReasonMaxDurationExceeded      TerminationReason = "max_duration_exceeded"
	TerminationReasonLogQuotaExceeded         TerminationReason = "log_quota_exceeded"
)

// HealthcheckResponse is returned by GET /api/healthcheck of both agents.
// Service is "dstack-shim" or "dstack-runner"; the server negotiates the API
// version from Version (a non-final version such as "latest" means newest).
type HealthcheckResponse struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// ShutdownRequest is the body of POST /api/shutdown.
type ShutdownRequest struct {
	Force bool `json:"force"`
}

// InstanceInfoResponse is returned by GET /api/instance/info. Upstream fields
// are omitted when not applicable; Executor is our extension naming the task
// executor in use ("docker" or "process").
type InstanceInfoResponse struct {
	GpuVendor        string `json:"gpu_vendor,omitempty"`
	GpuDriverVersion string `json:"gpu_driver_version,omitempty"`
	Executor         string `json:"executor,omitempty"`
}

// VolumeMountPoint mounts a network volume (by name) at Path in the container.
type VolumeMountPoint struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// InstanceMountPoint bind-mounts InstancePath of the host at Path in the container.
type InstanceMountPoint struct {
	InstancePath string `json:"instance_path"`
	Path         string `json:"path"`
}

// VolumeInfo describes a cloud volume attached to the instance.
type VolumeInfo struct {
	Backend    string `json:"backend"`
	Name       string `json:"name"`
	VolumeID   string `json:"volume_id"`
	InitFs     bool   `json:"init_fs"`
	DeviceName string `json:"device_name"`
}

// PortMapping maps a container port onto a host port (bridge mode).
type PortMapping struct {
	Host      int `json:"host"`
	Container int `json:"container"`
}

// GPUDevice passes a device node into the container explicitly.
type GPUDevice struct {
	PathOnHost      string `json:"path_on_host"`
	PathInContainer string `json:"path_in_container"`
}

// TaskConfigBody is the body of POST /api/tasks: everything the shim needs to
// start the job container. GPU: -1 = all available, 0 = none, N = N GPUs.
// CPU: 0 = all. Memory and ShmSize are bytes, 0 = unlimited / default.
type TaskConfigBody struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	RegistryUsername string               `json:"registry_username"`
	RegistryPassword string               `json:"registry_password"`
	ImageName        string               `json:"image_name"`
	ContainerUser    string               `json:"container_user"`
	Privileged       bool                 `json:"privileged"`
	GPU              int                  `json:"gpu"`
	CPU              float64              `json:"cpu"`
	Memory           int64                `json:"memory"`
	ShmSize          int64                `json:"shm_size"`
	NetworkMode      NetworkMode          `json:"network_mode"`
	Volumes          []VolumeInfo         `json:"volumes"`
	VolumeMounts     []VolumeMountPoint   `json:"volume_mounts"`
	InstanceMounts   []InstanceMountPoint `json:"instance_mounts"`
	GPUDevices       []GPUDevice          `json:"gpu_devices"`
	HostSSHUser      string               `json:"host_ssh_user"`
	HostSSHKeys      []string             `json:"host_ssh_keys"`
	ContainerSSHKeys []string             `json:"container_ssh_keys"`
}

// TaskListItem is one entry of TaskListResponse.
type TaskListItem struct {
	ID     string     `json:"id"`
	Status TaskStatus `json:"status"`
}

// TaskListResponse is returned by GET /api/tasks.
type TaskListResponse struct {
	Tasks []TaskListItem `json:"tasks"`
}

// ImagePullProgress aggregates the byte counters of an image pull.
type ImagePullProgress struct {
	DownloadedBytes   uint64 `json:"downloaded_bytes"`
	ExtractedBytes    uint64 `json:"extracted_bytes"`
	TotalBytes        uint64 `json:"total_bytes"`
	IsTotalBytesFinal bool   `json:"is_total_bytes_final"`
}

// TaskInfoResponse is returned by GET /api/tasks/{id} (and by submit and
// terminate). Ports is null until the container is running; in host network
// mode it is an empty list. The trailing fields are for debugging only.
type TaskInfoResponse struct {
	ID                 string             `json:"id"`
	Status             TaskStatus         `json:"status"`
	TerminationReason  string             `json:"termination_reason"`
	TerminationMessage string             `json:"termination_message"`
	Ports              []PortMapping      `json:"ports"`
	ImagePullProgress  *ImagePullProgress `json:"image_pull_progress"`
	ContainerName      string             `json:"container_name"`
	ContainerID        string             `json:"container_id"`
	GpuIDs             []string           `json:"gpus_ids"`
}

// TaskTerminateRequest is the body of POST /api/tasks/{id}/terminate.
// Timeout is the grace period in seconds before the container is killed.
type TaskTerminateRequest struct {
	TerminationReason  string `json:"termination_reason"`
	TerminationMessage string `json:"termination_message"`
	Timeout            uint   `json:"timeout"`
}

// Component names and statuses reported by GET /api/components.
const (
	ComponentNameRunner         = "dstack-runner"
	ComponentNameShim           = "dstack-shim"
	ComponentStatusNotInstalled = "not-installed"
	ComponentStatusInstalled    = "installed"
	ComponentStatusInstalling   = "installing"
	ComponentStatusError        = "error"
)

// ComponentInfo describes an installable agent component.
type ComponentInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Status  string `json:"status"`
}

// ComponentListResponse is returned by GET /api/components.
type ComponentListResponse struct {
	Components []ComponentInfo `json:"components"`
}

// ComponentInstallRequest is the body of POST /api/components/install.
type ComponentInstallRequest struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}
