package schemas

import (
	"encoding/json"
	"time"
)

// InstanceStatus is an instance's lifecycle state.
//
//	pending ──deploy ok──▶ idle ◀──release── busy
//	   │                    │  └──assign────▶ busy
//	   └─────────────▶ terminating ──▶ terminated
//
// (cloud instances pass through provisioning between pending and idle).
type InstanceStatus string

// Instance statuses (upstream wire values).
const (
	InstancePending      InstanceStatus = "pending"
	InstanceProvisioning InstanceStatus = "provisioning"
	InstanceIdle         InstanceStatus = "idle"
	InstanceBusy         InstanceStatus = "busy"
	InstanceTerminating  InstanceStatus = "terminating"
	InstanceTerminated   InstanceStatus = "terminated"
)

// Active reports whether the instance is neither terminating nor terminated.
func (s InstanceStatus) Active() bool { return s != InstanceTerminating && s != InstanceTerminated }

// Gpu is one GPU of an instance type.
type Gpu struct {
	Name      string  `json:"name"`
	MemoryMiB int     `json:"memory_mib"`
	Vendor    *string `json:"vendor"`
}

// Disk is an instance type's disk.
type Disk struct {
	SizeMiB int `json:"size_mib"`
}

// Resources are what an instance type offers.
type Resources struct {
	CPUs        int     `json:"cpus"`
	MemoryMiB   int     `json:"memory_mib"`
	Gpus        []Gpu   `json:"gpus"`
	Spot        bool    `json:"spot"`
	Disk        Disk    `json:"disk"`
	CPUArch     *string `json:"cpu_arch"`
	Description string  `json:"description"`
}

// InstanceType is a named bundle of resources.
type InstanceType struct {
	Name      string    `json:"name"`
	Resources Resources `json:"resources"`
}

// OfferAvailability says whether an offer can be used now.
type OfferAvailability string

// Offer availabilities.
const (
	AvailabilityUnknown      OfferAvailability = "unknown"
	AvailabilityAvailable    OfferAvailability = "available"
	AvailabilityNotAvailable OfferAvailability = "not_available"
	AvailabilityNoQuota      OfferAvailability = "no_quota"
	AvailabilityNoBalance    OfferAvailability = "no_balance"
	AvailabilityIdle         OfferAvailability = "idle"
	AvailabilityBusy         OfferAvailability = "busy"
)

// InstanceOffer is an offer a job can run on (InstanceOfferWithAvailability).
type InstanceOffer struct {
	Backend           string            `json:"backend"`
	Instance          InstanceType      `json:"instance"`
	Region            string            `json:"region"`
	Price             float64           `json:"price"`
	BackendData       json.RawMessage   `json:"backend_data"`
	Availability      OfferAvailability `json:"availability"`
	AvailabilityZones []string          `json:"availability_zones"`
	InstanceRuntime   string            `json:"instance_runtime"`
	Blocks            int               `json:"blocks"`
	TotalBlocks       int               `json:"total_blocks"`
}

// SSHConnectionParams name a jump host in provisioning data.
type SSHConnectionParams struct {
	Hostname string `json:"hostname"`
	Username string `json:"username"`
	Port     int    `json:"port"`
}

// GpuDriver is the GPU driver an instance reports.
type GpuDriver struct {
	Vendor  *string `json:"vendor"`
	Version string  `json:"version"`
}

// JobProvisioningData says where and how a job's instance is reached.
type JobProvisioningData struct {
	Backend          string               `json:"backend"`
	BaseBackend      *string              `json:"base_backend"`
	InstanceType     InstanceType         `json:"instance_type"`
	InstanceID       string               `json:"instance_id"`
	Hostname         *string              `json:"hostname"`
	InternalIP       *string              `json:"internal_ip"`
	PublicIPEnabled  bool                 `json:"public_ip_enabled"`
	InstanceNetwork  *string              `json:"instance_network"`
	Region           string               `json:"region"`
	AvailabilityZone *string              `json:"availability_zone"`
	Reservation      *string              `json:"reservation"`
	Price            float64              `json:"price"`
	Username         string               `json:"username"`
	SSHPort          *int                 `json:"ssh_port"`
	Dockerized       bool                 `json:"dockerized"`
	SSHProxy         *SSHConnectionParams `json:"ssh_proxy"`
	BackendData      *string              `json:"backend_data"`
	GpuDriver        *GpuDriver           `json:"gpu_driver"`
}

// RemoteBackendData is JobProvisioningData.backend_data of an SSH fleet
// host (backend "remote"): the SSH host key the server pinned for it, so
// that clients check the host they attach to against it.
type RemoteBackendData struct {
	SSHHostKey string `json:"ssh_host_key"`
}

// Instance is an instance as the API shows it.
type Instance struct {
	ID                       string         `json:"id"`
	ProjectName              string         `json:"project_name"`
	Backend                  *string        `json:"backend"`
	InstanceType             *InstanceType  `json:"instance_type"`
	Name                     string         `json:"name"`
	FleetID                  *string        `json:"fleet_id"`
	FleetName                *string        `json:"fleet_name"`
	InstanceNum              int            `json:"instance_num"`
	JobName                  *string        `json:"job_name"`
	Hostname                 *string        `json:"hostname"`
	Status                   InstanceStatus `json:"status"`
	Unreachable              bool           `json:"unreachable"`
	HealthStatus             string         `json:"health_status"`
	TerminationReason        *string        `json:"termination_reason"`
	TerminationReasonMessage *string        `json:"termination_reason_message"`
	Created                  time.Time      `json:"created"`
	FinishedAt               *time.Time     `json:"finished_at"`
	Region                   *string        `json:"region"`
	AvailabilityZone         *string        `json:"availability_zone"`
	Price                    *float64       `json:"price"`
	TotalBlocks              *int           `json:"total_blocks"`
	BusyBlocks               int            `json:"busy_blocks"`
	GpuDriver                *GpuDriver     `json:"gpu_driver"`
	// StatusMessage is this server's addition: why a host is unreachable
	// or failed to deploy. Clients ignore unknown fields.
	StatusMessage *string `json:"status_message,omitempty"`
}

// ListInstancesRequest is the body of instances/list.
type ListInstancesRequest struct {
	ProjectNames    []string   `json:"project_names"`
	FleetIDs        []string   `json:"fleet_ids"`
	OnlyActive      bool       `json:"only_active"`
	IncludeImported bool       `json:"include_imported"`
	PrevCreatedAt   *time.Time `json:"prev_created_at"`
	PrevID          *string    `json:"prev_id"`
	Limit           *int       `json:"limit"`
	Ascending       bool       `json:"ascending"`
}

// GetInstanceRequest names an instance by id.
type GetInstanceRequest struct {
	ID string `json:"id"`
}
