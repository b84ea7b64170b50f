-- Events: what happened to runs, jobs, fleets, instances, users, projects
-- and secrets, and who did it (actor_user_id NULL: the server itself). An
-- event has one or more targets; a target keeps the entity's name and
-- project as they were, and the run or fleet it belongs to, for the
-- within_runs and within_fleets filters.
CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    message       TEXT NOT NULL,
    recorded_at   TIMESTAMP NOT NULL,
    actor_user_id TEXT REFERENCES users (id)
);
CREATE INDEX events_recorded_at ON events (recorded_at, id);
CREATE TABLE event_targets (
    id                TEXT PRIMARY KEY,
    event_id          TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    entity_type       TEXT NOT NULL,
    entity_project_id TEXT REFERENCES projects (id),
    entity_id         TEXT NOT NULL,
    entity_name       TEXT NOT NULL,
    entity_run_id     TEXT,
    entity_fleet_id   TEXT
);
CREATE INDEX event_targets_event ON event_targets (event_id);
CREATE INDEX event_targets_entity ON event_targets (entity_id);
CREATE INDEX event_targets_project ON event_targets (entity_project_id);
CREATE INDEX event_targets_run ON event_targets (entity_run_id);
CREATE INDEX event_targets_fleet ON event_targets (entity_fleet_id);
