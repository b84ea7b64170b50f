package db

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Event is one recorded event: what happened (message), when, and who did it
// (ActorUserID; nil: the server itself).
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID          string    `bun:"id,pk"`
	Message     string    `bun:"message"`
	RecordedAt  time.Time `bun:"recorded_at"`
	ActorUserID *string   `bun:"actor_user_id"`
}

// EventTarget is an entity an event is about, with its name and project as
// they were when it was recorded, and the run or fleet it belongs to.
type EventTarget struct {
	bun.BaseModel `bun:"table:event_targets"`

	ID              string  `bun:"id,pk"`
	EventID         string  `bun:"event_id"`
	EntityType      string  `bun:"entity_type"`
	EntityProjectID *string `bun:"entity_project_id"`
	EntityID        string  `bun:"entity_id"`
	EntityName      string  `bun:"entity_name"`
	EntityRunID     *string `bun:"entity_run_id"`
	EntityFleetID   *string `bun:"entity_fleet_id"`
}

// PendingEvent is an event about a row that is stored when the row is
// written. Message is called then, so that it sees the row as written
// (a termination reason set after the status change, for example).
type PendingEvent struct {
	Message     func() string
	ActorUserID *string
	RecordedAt  time.Time
}

// EventLog holds the events of a row between its change and its write. The
// write functions of this package (inserts, updates, leased updates) store
// them in the same transaction as the row, and only when the row was
// written.
type EventLog struct {
	pending []PendingEvent
}

// Record adds an event to be stored with the row's next write.
func (l *EventLog) Record(e PendingEvent) {
	l.pending = append(l.pending, e)
}

// Pending reports how many events wait for the row's next write.
func (l *EventLog) Pending() int { return len(l.pending) }

// eventSource is a row that carries pending events and names itself as
// their target.
type eventSource interface {
	eventLog() *EventLog
	eventTarget() EventTarget
}

func (r *Run) eventLog() *EventLog      { return &r.Events }
func (j *Job) eventLog() *EventLog      { return &j.Events }
func (f *Fleet) eventLog() *EventLog    { return &f.Events }
func (i *Instance) eventLog() *EventLog { return &i.Events }

func (r *Run) eventTarget() EventTarget {
	return EventTarget{EntityType: "run", EntityProjectID: &r.ProjectID, EntityID: r.ID, EntityName: r.RunName, EntityRunID: &r.ID}
}

func (j *Job) eventTarget() EventTarget {
	return EventTarget{EntityType: "job", EntityProjectID: &j.ProjectID, EntityID: j.ID, EntityName: j.JobName, EntityRunID: &j.RunID}
}

func (f *Fleet) eventTarget() EventTarget {
	return EventTarget{EntityType: "fleet", EntityProjectID: &f.ProjectID, EntityID: f.ID, EntityName: f.Name, EntityFleetID: &f.ID}
}

func (i *Instance) eventTarget() EventTarget {
	return EventTarget{EntityType: "instance", EntityProjectID: &i.ProjectID, EntityID: i.ID, EntityName: i.Name, EntityFleetID: i.FleetID}
}

// NewEvent is an event to store with InsertEvent: message, actor (nil: the
// server) and its targets.
type NewEvent struct {
	Message     string
	ActorUserID *string
	RecordedAt  time.Time
	Targets     []EventTarget
}

// InsertEvent stores an event and its targets; ids are assigned here.
func InsertEvent(ctx context.Context, idb bun.IDB, e NewEvent) error {
	return insertEvents(ctx, idb, []NewEvent{e})
}

func insertEvents(ctx context.Context, idb bun.IDB, es []NewEvent) error {
	if len(es) == 0 {
		return nil
	}
	rows := make([]Event, 0, len(es))
	var targets []EventTarget
	for _, e := range es {
		id := uuid.NewString()
		at := e.RecordedAt
		if at.IsZero() {
			at = time.Now()
		}
		rows = append(rows, Event{ID: id, Message: e.Message, RecordedAt: at.UTC(), ActorUserID: e.ActorUserID})
		for _, t := range e.Targets {
			t.ID = uuid.NewString()
			t.EventID = id
			targets = append(targets, t)
		}
	}
	if _, err := idb.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return mapErr(err)
	}
	if len(targets) == 0 {
		return nil
	}
	_, err := idb.NewInsert().Model(&targets).Exec(ctx)
	return mapErr(err)
}

// takeEvents empties the logs of rows and returns their events.
func takeEvents(rows []eventSource) []NewEvent {
	var es []NewEvent
	for _, r := range rows {
		l := r.eventLog()
		for _, p := range l.pending {
			es = append(es, NewEvent{Message: p.Message(), ActorUserID: p.ActorUserID, RecordedAt: p.RecordedAt,
				Targets: []EventTarget{r.eventTarget()}})
		}
	}
	return es
}

// sources lists the models among ms that carry pending events.
func sources(ms ...any) []eventSource {
	var out []eventSource
	for _, m := range ms {
		if s, ok := m.(eventSource); ok && s.eventLog().Pending() > 0 {
			out = append(out, s)
		}
	}
	return out
}

// writeWithEvents runs write and, when it wrote, stores the pending events of
// rows in the same transaction (a new one unless idb is one already). The
// logs are emptied only when the transaction succeeds.
func writeWithEvents(ctx context.Context, idb bun.IDB, rows []eventSource, write func(bun.IDB) (bool, error)) (bool, error) {
	if len(rows) == 0 {
		return write(idb)
	}
	var wrote bool
	run := func(ctx context.Context, tx bun.IDB) error {
		ok, err := write(tx)
		if err != nil || !ok {
			return err
		}
		wrote = true
		es := takeEvents(rows)
		return insertEvents(ctx, tx, es)
	}
	var err error
	if tx, ok := idb.(bun.Tx); ok {
		err = run(ctx, tx)
	} else {
		err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return run(ctx, tx) })
	}
	if err != nil {
		return false, err
	}
	if wrote {
		for _, r := range rows {
			r.eventLog().pending = nil
		}
	}
	return wrote, nil
}

// EventFilter narrows ListEvents. Nil lists do not filter.
type EventFilter struct {
	// VisibleProjectIDs, when VisibleToUser is set, limits events to those
	// with a target in these projects or targeting that user.
	VisibleProjectIDs []string
	VisibleToUser     *string
	// TargetType with TargetIDs: events with a target of that type among the ids.
	TargetType string
	TargetIDs  []string
	// Within*: events with a target in these projects, fleets or runs.
	WithinProjects []string
	WithinFleets   []string
	WithinRuns     []string
	// IncludeTypes: events with a target of one of these types.
	IncludeTypes []string
	// Actors: events by these users; a nil entry stands for the server.
	Actors []*string
	// PrevRecordedAt and PrevID: continue after this event (strictly after
	// PrevRecordedAt when PrevID is nil).
	PrevRecordedAt *time.Time
	PrevID         *string
	Limit          int
	Ascending      bool
}

// EventRow is a listed event with its targets and the names the listing shows.
type EventRow struct {
	Event
	ActorName         *string
	ActorOriginalName *string
	ActorDeleted      *bool
	Targets           []EventTargetRow
}

// EventTargetRow is a target with its project's current name and state.
type EventTargetRow struct {
	EventTarget
	ProjectName         *string `bun:"project_name"`
	ProjectOriginalName *string `bun:"project_original_name"`
	ProjectDeleted      *bool   `bun:"project_deleted"`
}

// ListEvents returns events by recorded_at (newest first unless Ascending;
// ties by id the other way, as upstream) with their targets.
func ListEvents(ctx context.Context, idb bun.IDB, f EventFilter) ([]EventRow, error) {
	var es []Event
	q := idb.NewSelect().Model(&es)
	if f.VisibleToUser != nil {
		q = q.Where("EXISTS (?)", targetsOf(idb).WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(f.VisibleProjectIDs) > 0 {
				q = q.WhereOr("t.entity_project_id IN (?)", bun.In(f.VisibleProjectIDs))
			}
			return q.WhereOr("(t.entity_project_id IS NULL AND t.entity_type = 'user' AND t.entity_id = ?)", *f.VisibleToUser)
		}))
	}
	if cond := f.targetCondition(idb); cond != nil {
		q = q.Where("EXISTS (?)", cond)
	}
	if f.Actors != nil {
		var ids []string
		system := false
		for _, a := range f.Actors {
			if a == nil {
				system = true
			} else {
				ids = append(ids, *a)
			}
		}
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if system {
				q = q.WhereOr("event.actor_user_id IS NULL")
			}
			if len(ids) > 0 {
				q = q.WhereOr("event.actor_user_id IN (?)", bun.In(ids))
			}
			return q
		})
	}
	if t := f.PrevRecordedAt; t != nil {
		op, idOp := "<", ">"
		if f.Ascending {
			op, idOp = ">", "<"
		}
		if f.PrevID == nil {
			q = q.Where("event.recorded_at "+op+" ?", t.UTC())
		} else {
			q = q.Where("(event.recorded_at "+op+" ? OR (event.recorded_at = ? AND event.id "+idOp+" ?))", t.UTC(), t.UTC(), *f.PrevID)
		}
	}
	if f.Ascending {
		q = q.Order("event.recorded_at ASC", "event.id DESC")
	} else {
		q = q.Order("event.recorded_at DESC", "event.id ASC")
	}
	if err := q.Limit(int64(f.Limit)).Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	return eventRows(ctx, idb, es)
}

// targetsOf starts a subquery over the targets of the outer event.
func targetsOf(idb bun.IDB) *bun.SelectQuery {
	return idb.NewSelect().TableExpr("event_targets AS t").ColumnExpr("1").Where("t.event_id = event.id")
}

// targetCondition is the subquery of the user's filters, nil when none is set.
func (f EventFilter) targetCondition(idb bun.IDB) *bun.SelectQuery {
	q := targetsOf(idb)
	set := false
	if f.TargetType != "" {
		q = q.Where("t.entity_type = ?", f.TargetType).Where("t.entity_id IN (?)", bun.In(f.TargetIDs))
		set = true
	}
	for col, ids := range map[string][]string{"entity_project_id": f.WithinProjects, "entity_fleet_id": f.WithinFleets, "entity_run_id": f.WithinRuns} {
		if ids != nil {
			q = q.Where("? IN (?)", bun.Ident("t."+col), bun.In(ids))
			set = true
		}
	}
	if f.IncludeTypes != nil {
		q = q.Where("t.entity_type IN (?)", bun.In(f.IncludeTypes))
		set = true
	}
	if !set {
		return nil
	}
	return q
}

// eventRows loads the targets and actors of es.
func eventRows(ctx context.Context, idb bun.IDB, es []Event) ([]EventRow, error) {
	if len(es) == 0 {
		return []EventRow{}, nil
	}
	ids := make([]string, len(es))
	var actorIDs []string
	for i, e := range es {
		ids[i] = e.ID
		if e.ActorUserID != nil {
			actorIDs = append(actorIDs, *e.ActorUserID)
		}
	}
	var ts []EventTargetRow
	err := idb.NewSelect().Model(&ts).ModelTableExpr("event_targets AS event_target").
		ColumnExpr("event_target.*").
		ColumnExpr("p.name AS project_name, p.original_name AS project_original_name, p.deleted AS project_deleted").
		Join("LEFT JOIN projects AS p ON p.id = event_target.entity_project_id").
		Where("event_target.event_id IN (?)", bun.In(ids)).OrderExpr("event_target.id").Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	users := map[string]User{}
	if len(actorIDs) > 0 {
		var us []User
		if err := idb.NewSelect().Model(&us).Where("id IN (?)", bun.In(actorIDs)).Scan(ctx); err != nil {
			return nil, mapErr(err)
		}
		for _, u := range us {
			users[u.ID] = u
		}
	}
	byEvent := map[string][]EventTargetRow{}
	for _, t := range ts {
		byEvent[t.EventID] = append(byEvent[t.EventID], t)
	}
	out := make([]EventRow, len(es))
	for i, e := range es {
		out[i] = EventRow{Event: e, Targets: byEvent[e.ID]}
		if e.ActorUserID != nil {
			if u, ok := users[*e.ActorUserID]; ok {
				out[i].ActorName, out[i].ActorOriginalName, out[i].ActorDeleted = &u.Name, u.OriginalName, &u.Deleted
			}
		}
	}
	return out, nil
}

// PruneEvents deletes the events recorded before cutoff, with their
// targets, and returns how many events went.
func PruneEvents(ctx context.Context, idb bun.IDB, cutoff time.Time) (int64, error) {
	var n int64
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		old := tx.NewSelect().Model((*Event)(nil)).Column("id").Where("recorded_at < ?", cutoff)
		if _, err := tx.NewDelete().Model((*EventTarget)(nil)).Where("event_id IN (?)", old).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*Event)(nil)).Where("recorded_at < ?", cutoff).Exec(ctx)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, mapErr(err)
}
