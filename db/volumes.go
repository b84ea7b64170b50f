package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Volume is a row of volumes: a network volume of a project. Configuration,
// VolumeProvisioningData and VolumeAttachmentData are JSON.
type Volume struct {
	bun.BaseModel `bun:"table:volumes,alias:v"`

	ID                     string     `bun:"id,pk"`
	ProjectID              string     `bun:"project_id"`
	UserID                 string     `bun:"user_id"`
	Name                   string     `bun:"name"`
	CreatedAt              time.Time  `bun:"created_at"`
	LastProcessedAt        time.Time  `bun:"last_processed_at"`
	Status                 string     `bun:"status"`
	StatusMessage          *string    `bun:"status_message"`
	Configuration          string     `bun:"configuration"`
	VolumeProvisioningData *string    `bun:"volume_provisioning_data"`
	VolumeAttachmentData   *string    `bun:"volume_attachment_data"`
	Cost                   float64    `bun:"cost"`
	Deleted                bool       `bun:"deleted"`
	DeletedAt              *time.Time `bun:"deleted_at"`
}

// VolumeAttachment is a row of volume_attachments: a volume attached to an
// instance. AttachmentData is JSON.
type VolumeAttachment struct {
	bun.BaseModel `bun:"table:volume_attachments,alias:va"`

	VolumeID       string  `bun:"volume_id,pk"`
	InstanceID     string  `bun:"instance_id,pk"`
	AttachmentData *string `bun:"attachment_data"`
}

// VolumeFilter narrows ListVolumes.
type VolumeFilter struct {
	ProjectIDs []string // nil: every project; empty: none
	OnlyActive bool     // leave out deleted volumes
	Page       Page
}

// InsertVolume stores a new volume.
func InsertVolume(ctx context.Context, idb bun.IDB, v *Volume) error {
	return insertRow(ctx, idb, v)
}

// InsertVolumeAttachment records a volume attached to an instance.
func InsertVolumeAttachment(ctx context.Context, idb bun.IDB, a *VolumeAttachment) error {
	return insertRow(ctx, idb, a)
}

// ListVolumes returns the volumes of the given projects, newest first unless
// the page says otherwise.
func ListVolumes(ctx context.Context, idb bun.IDB, f VolumeFilter) ([]Volume, error) {
	var vs []Volume
	q := idb.NewSelect().Model(&vs)
	if f.ProjectIDs != nil {
		if len(f.ProjectIDs) == 0 {
			return nil, nil
		}
		q = q.Where("project_id IN (?)", bun.In(f.ProjectIDs))
	}
	if f.OnlyActive {
		q = q.Where("deleted = ?", false)
	}
	err := f.Page.apply(q, "created_at", "id").Scan(ctx)
	return vs, mapErr(err)
}

// ListProjectVolumes returns a project's live volumes by name, or all of
// them when names is nil.
func ListProjectVolumes(ctx context.Context, idb bun.IDB, projectID string, names []string) ([]Volume, error) {
	var vs []Volume
	q := idb.NewSelect().Model(&vs).Where("project_id = ?", projectID).Where("deleted = ?", false)
	if names != nil {
		if len(names) == 0 {
			return nil, nil
		}
		q = q.Where("name IN (?)", bun.In(names))
	}
	err := q.OrderExpr("name").Scan(ctx)
	return vs, mapErr(err)
}

// GetVolumeByName finds a project's live volume by name.
func GetVolumeByName(ctx context.Context, idb bun.IDB, projectID, name string) (*Volume, error) {
	v := new(Volume)
	err := idb.NewSelect().Model(v).Where("project_id = ?", projectID).Where("name = ?", name).
		Where("deleted = ?", false).Scan(ctx)
	return v, mapErr(err)
}

// ListVolumeAttachments returns the attachments of the given volumes.
func ListVolumeAttachments(ctx context.Context, idb bun.IDB, volumeIDs []string) ([]VolumeAttachment, error) {
	if len(volumeIDs) == 0 {
		return nil, nil
	}
	var as []VolumeAttachment
	err := idb.NewSelect().Model(&as).Where("volume_id IN (?)", bun.In(volumeIDs)).
		OrderExpr("volume_id, instance_id").Scan(ctx)
	return as, mapErr(err)
}

// VolumesInUse returns which of the given volumes are attached to an instance
// that a job of an unfinished run holds.
func VolumesInUse(ctx context.Context, idb bun.IDB, volumeIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(volumeIDs) == 0 {
		return out, nil
	}
	var ids []string
	err := idb.NewSelect().TableExpr("volume_attachments AS va").ColumnExpr("DISTINCT va.volume_id").
		Join("JOIN jobs AS j ON j.instance_id = va.instance_id").
		Join("JOIN runs AS r ON r.id = j.run_id").
		Where("va.volume_id IN (?)", bun.In(volumeIDs)).
		Where("r.status NOT IN (?)", bun.In(finishedRunStatuses)).
		Where("j.status NOT IN (?)", bun.In(finishedJobStatuses)).
		Scan(ctx, &ids)
	for _, id := range ids {
		out[id] = true
	}
	return out, mapErr(err)
}

// MarkVolumesDeleted soft-deletes volumes and drops their attachments.
func MarkVolumesDeleted(ctx context.Context, idb bun.IDB, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := idb.NewDelete().Model((*VolumeAttachment)(nil)).Where("volume_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
		return mapErr(err)
	}
	_, err := idb.NewUpdate().Model((*Volume)(nil)).Set("deleted = ?", true).Set("deleted_at = ?", at).
		Where("id IN (?)", bun.In(ids)).Exec(ctx)
	return mapErr(err)
}

// finishedJobStatuses are the terminal states of a job.
var finishedJobStatuses = []string{"terminated", "aborted", "failed", "done"}
