package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// parsePrivateKey accepts unencrypted RSA, ECDSA and Ed25519 keys.
func parsePrivateKey(pem string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey([]byte(pem))
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, errors.New("the key is protected by a passphrase; use an unencrypted key")
	case err != nil:
		return nil, fmt.Errorf("not a valid private key (accepted: RSA, ECDSA, Ed25519 in PEM or OpenSSH format): %w", err)
	}
	switch signer.PublicKey().Type() {
	case ssh.KeyAlgoRSA, ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return signer, nil
	}
	return nil, fmt.Errorf("key type %s is not supported (accepted: RSA, ECDSA, Ed25519)", signer.PublicKey().Type())
}

// Schema renders a fleet with its live instances.
func (s Fleets) Schema(ctx context.Context, p *db.Project, f *db.Fleet) (*schemas.Fleet, error) {
	is, err := db.ListFleetInstances(ctx, s.DB, f.ID)
	if err != nil {
		return nil, err
	}
	return s.schemaWith(p.Name, f, is)
}

func (s Fleets) schemaWith(project string, f *db.Fleet, is []db.Instance) (*schemas.Fleet, error) {
	out := &schemas.Fleet{ID: f.ID, Name: f.Name, ProjectName: project, CreatedAt: f.CreatedAt.UTC(),
		Status: schemas.FleetStatus(f.Status), StatusMessage: f.StatusMessage, Instances: []schemas.Instance{}}
	if err := json.Unmarshal([]byte(f.Spec), &out.Spec); err != nil {
		return nil, fmt.Errorf("decode spec of fleet %s: %w", f.Name, err)
	}
	for i := range is {
		out.Instances = append(out.Instances, InstanceSchema(project, f.Name, &is[i]))
	}
	return out, nil
}

// InstanceSchema renders an instance for the API.
func InstanceSchema(project, fleet string, in *db.Instance) schemas.Instance {
	out := schemas.Instance{ID: in.ID, ProjectName: project, Backend: in.Backend, Name: in.Name, FleetID: in.FleetID,
		InstanceNum: in.InstanceNum, Status: schemas.InstanceStatus(in.Status), Unreachable: in.Unreachable,
		HealthStatus: in.Health, TerminationReason: in.TerminationReason, TerminationReasonMessage: in.TerminationReasonMessage,
		Created: in.CreatedAt.UTC(), Region: in.Region, Price: in.Price, TotalBlocks: in.TotalBlocks, BusyBlocks: in.BusyBlocks,
		StatusMessage: in.StatusMessage}
	if fleet != "" {
		out.FleetName = &fleet
	}
	if in.FinishedAt != nil {
		t := in.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	if in.JobProvisioningData != nil {
		var jpd schemas.JobProvisioningData
		if json.Unmarshal([]byte(*in.JobProvisioningData), &jpd) == nil {
			out.InstanceType = &jpd.InstanceType
			out.Hostname = jpd.Hostname
			out.GpuDriver = jpd.GpuDriver
		}
	}
	return out
}

// List returns a project's live fleets with their instances, and with
// includeImported the live fleets other projects export to it (their
// project_name is the exporting project's).
func (s Fleets) List(ctx context.Context, p *db.Project, includeImported bool) ([]schemas.Fleet, error) {
	fs, err := db.ListFleets(ctx, s.DB, db.FleetFilter{ProjectIDs: []string{p.ID}, Page: db.Page{Limit: -1}})
	if err != nil {
		return nil, err
	}
	projects := map[string]string{p.ID: p.Name}
	if includeImported {
		owners, ifs, err := candidateOwners(ctx, s.Env, p.ID)
		if err != nil {
			return nil, err
		}
		ids := map[string]bool{}
		for _, f := range ifs {
			ids[f.FleetID] = true
		}
		var others []string
		for id := range owners {
			if id != p.ID {
				others = append(others, id)
			}
		}
		if len(others) > 0 {
			theirs, err := db.ListFleets(ctx, s.DB, db.FleetFilter{ProjectIDs: others, Page: db.Page{Limit: -1}})
			if err != nil {
				return nil, err
			}
			for _, f := range theirs {
				if ids[f.ID] {
					fs = append(fs, f)
				}
			}
		}
		projects = owners
	}
	return s.render(ctx, projects, fs)
}

// render turns fleets into API objects, loading all instances in one query.
func (s Fleets) render(ctx context.Context, projects map[string]string, fs []db.Fleet) ([]schemas.Fleet, error) {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	is, err := db.ListFleetInstances(ctx, s.DB, ids...)
	if err != nil {
		return nil, err
	}
	byFleet := map[string][]db.Instance{}
	for _, in := range is {
		byFleet[*in.FleetID] = append(byFleet[*in.FleetID], in)
	}
	out := make([]schemas.Fleet, 0, len(fs))
	for i := range fs {
		f, err := s.schemaWith(projects[fs[i].ProjectID], &fs[i], byFleet[fs[i].ID])
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, nil
}

// Get finds a fleet by name (live) or id.
func (s Fleets) Get(ctx context.Context, p *db.Project, req schemas.GetFleetRequest) (*db.Fleet, error) {
	var (
		f   *db.Fleet
		err error
	)
	switch {
	case req.ID != nil:
		f, err = db.GetFleetByID(ctx, s.DB, p.ID, *req.ID)
	case req.Name != nil:
		f, err = db.GetFleetByName(ctx, s.DB, p.ID, *req.Name)
	default:
		return nil, Invalid("Specify the fleet's name or id")
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, NotFound("Fleet not found")
	}
	return f, err
}

// Delete starts the termination of fleets: their instances are terminated
// by the background, then the fleet disappears. Fleets used by active runs
// are refused; the check and the change are one transaction, and an
// instance is only terminated while it runs no job (see
// db.TerminateIdleInstance), so a job placed meanwhile keeps its host.
func (s Fleets) Delete(ctx context.Context, actor Actor, p *db.Project, names []string) error {
	var fs []*db.Fleet
	for _, n := range names {
		f, err := db.GetFleetByName(ctx, s.DB, p.ID, n)
		if errors.Is(err, db.ErrNotFound) {
			return NotFound("Fleet %s not found", n)
		} else if err != nil {
			return err
		}
		fs = append(fs, f)
	}
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if n, err := db.CountActiveJobsOnFleets(ctx, tx, ids); err != nil {
			return err
		} else if n > 0 {
			return Invalid("Failed to delete fleets: %d active jobs run on them; stop the runs first", n)
		}
		is, err := db.ListFleetInstances(ctx, tx, ids...)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if err := SetFleetStatusBy(f, actor, schemas.FleetTerminating); err != nil {
				return err
			}
			if err := db.UpdateFleet(ctx, tx, f, "status"); err != nil {
				return err
			}
		}
		return terminateIdle(ctx, tx, actor, is, "Failed to delete fleets")
	})
	if err != nil {
		return err
	}
	s.WakeUp(PipelineInstances, PipelineFleets)
	return nil
}

// DeleteInstances terminates some instances of a fleet by number.
func (s Fleets) DeleteInstances(ctx context.Context, actor Actor, p *db.Project, name string, nums []int) error {
	f, err := db.GetFleetByName(ctx, s.DB, p.ID, name)
	if errors.Is(err, db.ErrNotFound) {
		return NotFound("Fleet %s not found", name)
	} else if err != nil {
		return err
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		is, err := db.ListFleetInstances(ctx, tx, f.ID)
		if err != nil {
			return err
		}
		var pick []db.Instance
		for _, n := range nums {
			found := false
			for _, in := range is {
				if in.InstanceNum == n {
					pick, found = append(pick, in), true
				}
			}
			if !found {
				return NotFound("Fleet %s has no instance %d", name, n)
			}
		}
		return terminateIdle(ctx, tx, actor, pick, "Failed to delete instances")
	})
	if err != nil {
		return err
	}
	s.WakeUp(PipelineInstances)
	return nil
}

// terminateIdle moves live instances to terminating, refusing (what: the
// start of the message) when one of them runs a job.
func terminateIdle(ctx context.Context, tx bun.Tx, actor Actor, is []db.Instance, what string) error {
	for i := range is {
		in := &is[i]
		if !schemas.InstanceStatus(in.Status).Active() {
			continue
		}
		if err := SetInstanceStatusBy(in, actor, schemas.InstanceTerminating); err != nil {
			return err
		}
		in.TerminationReason = ptr("terminated_by_user")
		// Due at once: the pipeline otherwise waits out its interval since
		// the last health check before cleaning the host up.
		ok, err := db.TerminateIdleInstance(ctx, tx, in, "terminated_by_user", dueNow())
		if err != nil {
			return err
		}
		if !ok {
			return Invalid("%s: instance %s is busy; stop its runs first", what, in.Name)
		}
	}
	return nil
}

// dueNow is a last_processed_at that makes a row due for its pipeline at
// once (new instances are created with it too).
func dueNow() time.Time { return time.Now().UTC().Add(-time.Hour) }
