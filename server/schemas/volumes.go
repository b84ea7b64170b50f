package schemas

import (
	"encoding/json"
	"time"
)

// VolumeStatus is a volume's lifecycle state (upstream wire values).
type VolumeStatus string

// Volume statuses: submitted → provisioning → active, or failed.
const (
	VolumeSubmitted    VolumeStatus = "submitted"
	VolumeProvisioning VolumeStatus = "provisioning"
	VolumeActive       VolumeStatus = "active"
	VolumeFailed       VolumeStatus = "failed"
)

// Volume is a network volume as the API shows it. Configuration is the
// volume configuration as stored (its backend is the discriminator).
type Volume struct {
	ID               string             `json:"id"`
	Name             string             `json:"name"`
	User             string             `json:"user"`
	ProjectName      string             `json:"project_name"`
	Configuration    json.RawMessage    `json:"configuration"`
	External         bool               `json:"external"`
	CreatedAt        time.Time          `json:"created_at"`
	LastProcessedAt  time.Time          `json:"last_processed_at"`
	Status           VolumeStatus       `json:"status"`
	StatusMessage    *string            `json:"status_message"`
	Deleted          bool               `json:"deleted"`
	DeletedAt        *time.Time         `json:"deleted_at"`
	VolumeID         *string            `json:"volume_id"`
	ProvisioningData json.RawMessage    `json:"provisioning_data"`
	Cost             float64            `json:"cost"`
	Attachments      []VolumeAttachment `json:"attachments"`
	AttachmentData   json.RawMessage    `json:"attachment_data"`
}

// VolumeAttachment is an instance a volume is attached to.
type VolumeAttachment struct {
	Instance       VolumeInstance  `json:"instance"`
	AttachmentData json.RawMessage `json:"attachment_data"`
}

// VolumeInstance names the instance of an attachment.
type VolumeInstance struct {
	Name        string  `json:"name"`
	FleetName   *string `json:"fleet_name"`
	InstanceNum int     `json:"instance_num"`
	InstanceID  *string `json:"instance_id"`
}

// VolumeConfigurationHead is the part of a volume configuration the server
// reads: its backend, region, and the identifiers of an external volume.
type VolumeConfigurationHead struct {
	Type      string  `json:"type"`
	Backend   string  `json:"backend"`
	Name      *string `json:"name"`
	Region    *string `json:"region"`
	VolumeID  *string `json:"volume_id"`
	ClaimName *string `json:"claim_name"`
}

// ListVolumesRequest is the body of the global volumes/list.
type ListVolumesRequest struct {
	ProjectName   *string    `json:"project_name"`
	OnlyActive    bool       `json:"only_active"`
	PrevCreatedAt *time.Time `json:"prev_created_at"`
	PrevID        *string    `json:"prev_id"`
	Limit         *int       `json:"limit"`
	Ascending     bool       `json:"ascending"`
}

// GetVolumeRequest names a volume.
type GetVolumeRequest struct {
	Name string `json:"name"`
}

// CreateVolumeRequest is the body of volumes/create.
type CreateVolumeRequest struct {
	Configuration json.RawMessage `json:"configuration"`
}

// DeleteVolumesRequest names volumes to delete.
type DeleteVolumesRequest struct {
	Names []string `json:"names"`
}
