package services

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Actor is who causes a change an event records: a user, or the server
// itself (System).
type Actor struct{ id string }

// System is the server acting on its own (the background pipelines).
var System = Actor{}

// UserActor is a user acting through the API.
func UserActor(u *db.User) Actor {
	if u == nil {
		return System
	}
	return Actor{id: u.ID}
}

func (a Actor) userID() *string {
	if a.id == "" {
		return nil
	}
	id := a.id
	return &id
}

// Limits of events/list, as upstream's.
const (
	eventsDefaultLimit = 100
	eventsMaxFilter    = 16
)

// Events lists recorded events.
type Events struct{ *Env }

// List returns the events the user may see that match req: a global admin
// sees all, others the events about projects they are members of and about
// themselves.
func (s Events) List(ctx context.Context, u *db.User, req schemas.ListEventsRequest) ([]schemas.Event, error) {
	f, err := eventFilter(req)
	if err != nil {
		return nil, err
	}
	if !isAdmin(u) {
		ms, err := db.ListUserMemberships(ctx, s.DB, u.ID)
		if err != nil {
			return nil, fmt.Errorf("list memberships: %w", err)
		}
		f.VisibleToUser = &u.ID
		f.VisibleProjectIDs = ms
	}
	rows, err := db.ListEvents(ctx, s.DB, f)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]schemas.Event, len(rows))
	for i, r := range rows {
		out[i] = eventSchema(r)
	}
	return out, nil
}

// eventFilter checks a request as upstream does and turns it into a filter.
func eventFilter(req schemas.ListEventsRequest) (db.EventFilter, error) {
	f := db.EventFilter{Limit: eventsDefaultLimit, Ascending: req.Ascending, PrevRecordedAt: req.PrevRecordedAt, PrevID: req.PrevID}
	if req.Limit != nil {
		if *req.Limit < 1 || *req.Limit > 100 {
			return f, InvalidField("limit", "limit must be between 1 and 100, got %d", *req.Limit)
		}
		f.Limit = *req.Limit
	}
	if req.PrevID != nil {
		if err := checkUUIDs("prev_id", []string{*req.PrevID}); err != nil {
			return f, err
		}
	}
	targets := []struct {
		field, typ string
		ids        []string
	}{
		{"target_projects", schemas.EventTargetProject, req.TargetProjects},
		{"target_users", schemas.EventTargetUser, req.TargetUsers},
		{"target_fleets", schemas.EventTargetFleet, req.TargetFleets},
		{"target_instances", schemas.EventTargetInstance, req.TargetInstances},
		{"target_runs", schemas.EventTargetRun, req.TargetRuns},
		{"target_jobs", schemas.EventTargetJob, req.TargetJobs},
		{"target_volumes", schemas.EventTargetVolume, req.TargetVolumes},
		{"target_gateways", schemas.EventTargetGateway, req.TargetGateways},
		{"target_secrets", schemas.EventTargetSecret, req.TargetSecrets},
	}
	var set []string
	for _, t := range targets {
		if t.ids == nil {
			continue
		}
		if err := checkFilter(t.field, t.ids); err != nil {
			return f, err
		}
		set = append(set, t.field)
		f.TargetType, f.TargetIDs = t.typ, t.ids
	}
	if len(set) > 1 {
		return f, Invalid("At most one target_* filter can be set at a time. Got %s", strings.Join(set, ", "))
	}
	withins := []struct {
		field string
		ids   []string
		dst   *[]string
	}{
		{"within_projects", req.WithinProjects, &f.WithinProjects},
		{"within_fleets", req.WithinFleets, &f.WithinFleets},
		{"within_runs", req.WithinRuns, &f.WithinRuns},
	}
	set = nil
	for _, w := range withins {
		if w.ids == nil {
			continue
		}
		if err := checkFilter(w.field, w.ids); err != nil {
			return f, err
		}
		set = append(set, w.field)
		*w.dst = w.ids
	}
	if len(set) > 1 {
		return f, Invalid("At most one within_* filter can be set at a time. Got %s", strings.Join(set, ", "))
	}
	if req.IncludeTargetTypes != nil {
		if err := checkCount("include_target_types", len(req.IncludeTargetTypes)); err != nil {
			return f, err
		}
		for _, t := range req.IncludeTargetTypes {
			if !slices.Contains(schemas.EventTargetTypes, t) {
				return f, InvalidField("include_target_types", "Unknown event target type %q; accepted: %s",
					t, strings.Join(schemas.EventTargetTypes, ", "))
			}
		}
		f.IncludeTypes = req.IncludeTargetTypes
	}
	if req.Actors != nil {
		if err := checkCount("actors", len(req.Actors)); err != nil {
			return f, err
		}
		for _, a := range req.Actors {
			if a != nil {
				if err := checkUUIDs("actors", []string{*a}); err != nil {
					return f, err
				}
			}
		}
		f.Actors = req.Actors
	}
	return f, nil
}

func checkFilter(field string, ids []string) error {
	if err := checkCount(field, len(ids)); err != nil {
		return err
	}
	return checkUUIDs(field, ids)
}

func checkCount(field string, n int) error {
	if n < 1 || n > eventsMaxFilter {
		return InvalidField(field, "%s must list 1 to %d items, got %d", field, eventsMaxFilter, n)
	}
	return nil
}

func checkUUIDs(field string, ids []string) error {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return InvalidField(field, "%s: %q is not a UUID", field, id)
		}
	}
	return nil
}

func eventSchema(r db.EventRow) schemas.Event {
	e := schemas.Event{ID: r.ID, Message: r.Message, RecordedAt: r.RecordedAt.UTC(), ActorUserID: r.ActorUserID,
		Targets: make([]schemas.EventTarget, len(r.Targets))}
	if r.ActorName != nil {
		name := *r.ActorName
		if *r.ActorDeleted && r.ActorOriginalName != nil {
			name = *r.ActorOriginalName
		}
		e.ActorUser, e.IsActorUserDeleted = &name, r.ActorDeleted
	}
	for i, t := range r.Targets {
		out := schemas.EventTarget{Type: t.EntityType, ProjectID: t.EntityProjectID, ID: t.EntityID, Name: t.EntityName}
		if t.ProjectName != nil {
			name := *t.ProjectName
			if t.ProjectDeleted != nil && *t.ProjectDeleted && t.ProjectOriginalName != nil {
				name = *t.ProjectOriginalName
			}
			out.ProjectName, out.IsProjectDeleted = &name, t.ProjectDeleted
		}
		e.Targets[i] = out
	}
	return e
}

// recordEvent stores an event now, by actor, about targets; idb is the
// transaction that makes the change.
func (e *Env) recordEvent(ctx context.Context, idb bun.IDB, actor Actor, message string, targets ...db.EventTarget) error {
	err := db.InsertEvent(ctx, idb, db.NewEvent{Message: message, ActorUserID: actor.userID(), RecordedAt: e.now(), Targets: targets})
	if err != nil {
		return fmt.Errorf("record event %q: %w", message, err)
	}
	return nil
}

// userTarget, projectTarget and secretTarget name entities as event targets.
func userTarget(u *db.User) db.EventTarget {
	return db.EventTarget{EntityType: schemas.EventTargetUser, EntityID: u.ID, EntityName: u.Name}
}

func projectTarget(p *db.Project) db.EventTarget {
	return db.EventTarget{EntityType: schemas.EventTargetProject, EntityProjectID: &p.ID, EntityID: p.ID, EntityName: p.Name}
}

func secretTarget(x *db.Secret) db.EventTarget {
	return db.EventTarget{EntityType: schemas.EventTargetSecret, EntityProjectID: &x.ProjectID, EntityID: x.ID, EntityName: x.Name}
}

// RecordOn adds an event ("Run submitted. Status: SUBMITTED") to
// a row's log, stored with its insert.
func RecordOn(l *db.EventLog, actor Actor, message string) {
	l.Record(db.PendingEvent{Message: func() string { return message }, ActorUserID: actor.userID(), RecordedAt: nowMicro()})
}

// fieldList words the fields an update changed, as upstream's events do.
func fieldList(fields []string) string {
	if len(fields) == 0 {
		return "<none>"
	}
	return strings.Join(fields, ", ")
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
