package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Volumes lists, reads and deletes network volumes. No backend of this
// server provisions volumes yet, so creation is refused; the rows come from
// an upstream database moved here (migrate-db) or from future backends.
type Volumes struct{ *Env }

// List returns volumes of the actor's projects (or of one), newest first.
func (s Volumes) List(ctx context.Context, actor *db.User, req schemas.ListVolumesRequest) ([]schemas.Volume, error) {
	page, projects, err := listScope(ctx, s.Env, actor, req.ProjectName, nil, req.PrevCreatedAt, req.PrevID, req.Limit, req.Ascending, 100)
	if err != nil {
		return nil, err
	}
	vs, err := db.ListVolumes(ctx, s.DB, db.VolumeFilter{ProjectIDs: keys(projects), OnlyActive: req.OnlyActive, Page: page})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return s.render(ctx, projects, vs)
}

// ListProject returns a project's live volumes by name.
func (s Volumes) ListProject(ctx context.Context, p *db.Project) ([]schemas.Volume, error) {
	vs, err := db.ListProjectVolumes(ctx, s.DB, p.ID, nil)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return s.render(ctx, map[string]string{p.ID: p.Name}, vs)
}

// Get returns a project's live volume.
func (s Volumes) Get(ctx context.Context, p *db.Project, name string) (*schemas.Volume, error) {
	v, err := db.GetVolumeByName(ctx, s.DB, p.ID, name)
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Volume %s not found", name)
	} else if err != nil {
		return nil, err
	}
	out, err := s.render(ctx, map[string]string{p.ID: p.Name}, []db.Volume{*v})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// Create is refused: no backend of this server provisions volumes.
func (s Volumes) Create(ctx context.Context, p *db.Project, req schemas.CreateVolumeRequest) (*schemas.Volume, error) {
	var head schemas.VolumeConfigurationHead
	if len(req.Configuration) == 0 || json.Unmarshal(req.Configuration, &head) != nil || head.Backend == "" {
		return nil, InvalidField("configuration", "configuration must be a volume configuration object with a backend")
	}
	return nil, Invalid("Volumes are not supported for the %s backend: no backend of this server provisions volumes yet. "+
		"Use instance volumes (volumes: [/instance/path:/container/path]) on SSH fleets, or network volumes registered "+
		"before the database was moved here, which can be listed and deleted", head.Backend)
}

// Delete marks volumes deleted. A volume attached to an instance that a job
// of an unfinished run holds is refused with upstream's message; naming a
// missing volume is an error.
func (s Volumes) Delete(ctx context.Context, p *db.Project, names []string) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		vs, err := db.ListProjectVolumes(ctx, tx, p.ID, names)
		if err != nil {
			return err
		}
		found := map[string]string{}
		for _, v := range vs {
			found[v.Name] = v.ID
		}
		for _, n := range names {
			if _, ok := found[n]; !ok {
				return NotFound("Volume %s not found", n)
			}
		}
		ids := make([]string, 0, len(vs))
		for _, v := range vs {
			ids = append(ids, v.ID)
		}
		inUse, err := db.VolumesInUse(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if inUse[v.ID] {
				return Invalid("Failed to delete volume %s. Volume is in use.", v.Name)
			}
		}
		s.Log.Info("deleting volumes", "project", p.Name, "volumes", strings.Join(names, ","))
		return db.MarkVolumesDeleted(ctx, tx, ids, s.now())
	})
}

// render turns volume rows into API objects with their users and
// attachments.
func (s Volumes) render(ctx context.Context, projects map[string]string, vs []db.Volume) ([]schemas.Volume, error) {
	ids := make([]string, len(vs))
	for i := range vs {
		ids[i] = vs[i].ID
	}
	atts, err := s.attachments(ctx, ids)
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	out := make([]schemas.Volume, 0, len(vs))
	for i := range vs {
		v := &vs[i]
		if _, ok := users[v.UserID]; !ok {
			u, err := db.GetUserByID(ctx, s.DB, v.UserID)
			if err != nil {
				return nil, fmt.Errorf("load the user of volume %s: %w", v.Name, err)
			}
			users[v.UserID] = u.Name
		}
		x, err := volumeSchema(v, projects[v.ProjectID], users[v.UserID])
		if err != nil {
			return nil, err
		}
		x.Attachments = atts[v.ID]
		if x.Attachments == nil {
			x.Attachments = []schemas.VolumeAttachment{}
		}
		out = append(out, x)
	}
	return out, nil
}

func volumeSchema(v *db.Volume, project, user string) (schemas.Volume, error) {
	x := schemas.Volume{ID: v.ID, Name: v.Name, User: user, ProjectName: project, Configuration: json.RawMessage(v.Configuration),
		CreatedAt: v.CreatedAt.UTC(), LastProcessedAt: v.LastProcessedAt.UTC(), Status: schemas.VolumeStatus(v.Status),
		StatusMessage: v.StatusMessage, Deleted: v.Deleted, Cost: v.Cost}
	var head schemas.VolumeConfigurationHead
	if err := json.Unmarshal([]byte(v.Configuration), &head); err != nil {
		return x, fmt.Errorf("decode the configuration of volume %s: %w", v.Name, err)
	}
	x.External = head.VolumeID != nil || head.ClaimName != nil
	if v.DeletedAt != nil {
		t := v.DeletedAt.UTC()
		x.DeletedAt = &t
	}
	if v.VolumeProvisioningData != nil {
		x.ProvisioningData = json.RawMessage(*v.VolumeProvisioningData)
		var vpd struct {
			VolumeID string `json:"volume_id"`
		}
		if err := json.Unmarshal(x.ProvisioningData, &vpd); err != nil {
			return x, fmt.Errorf("decode the provisioning data of volume %s: %w", v.Name, err)
		}
		x.VolumeID = &vpd.VolumeID
	}
	if v.VolumeAttachmentData != nil {
		x.AttachmentData = json.RawMessage(*v.VolumeAttachmentData)
	}
	return x, nil
}

// attachments loads the instances the volumes are attached to.
func (s Volumes) attachments(ctx context.Context, volumeIDs []string) (map[string][]schemas.VolumeAttachment, error) {
	as, err := db.ListVolumeAttachments(ctx, s.DB, volumeIDs)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	out := map[string][]schemas.VolumeAttachment{}
	fleets := map[string]*string{}
	for _, a := range as {
		in, err := db.GetInstance(ctx, s.DB, a.InstanceID)
		if err != nil {
			return nil, fmt.Errorf("load the instance of a volume attachment: %w", err)
		}
		vi := schemas.VolumeInstance{Name: in.Name, InstanceNum: in.InstanceNum, InstanceID: &in.ID}
		if in.FleetID != nil {
			if _, ok := fleets[*in.FleetID]; !ok {
				if f, err := db.GetFleetByID(ctx, s.DB, in.ProjectID, *in.FleetID); err == nil {
					fleets[*in.FleetID] = &f.Name
				} else {
					fleets[*in.FleetID] = nil
				}
			}
			vi.FleetName = fleets[*in.FleetID]
		}
		va := schemas.VolumeAttachment{Instance: vi}
		if a.AttachmentData != nil {
			va.AttachmentData = json.RawMessage(*a.AttachmentData)
		}
		out[a.VolumeID] = append(out[a.VolumeID], va)
	}
	return out, nil
}
