-- Volumes (with the instances they are attached to), gateways, and exports:
-- a project exports fleets and gateways to named projects (imports) or to
-- every project (is_global).
CREATE TABLE volumes (
    id                       TEXT PRIMARY KEY,
    project_id               TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id                  TEXT NOT NULL REFERENCES users (id),
    name                     TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    last_processed_at        TIMESTAMP NOT NULL,
    status                   TEXT NOT NULL,
    status_message           TEXT,
    configuration            TEXT NOT NULL,
    volume_provisioning_data TEXT,
    volume_attachment_data   TEXT,
    cost                     DOUBLE PRECISION NOT NULL DEFAULT 0,
    deleted                  BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at               TIMESTAMP
);
CREATE UNIQUE INDEX volumes_project_name_live ON volumes (project_id, name) WHERE deleted = FALSE;
CREATE INDEX volumes_created ON volumes (created_at, id);

CREATE TABLE volume_attachments (
    volume_id       TEXT NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    instance_id     TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    attachment_data TEXT,
    PRIMARY KEY (volume_id, instance_id)
);
CREATE INDEX volume_attachments_instance ON volume_attachments (instance_id);

CREATE TABLE gateways (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    status          TEXT NOT NULL,
    status_message  TEXT,
    configuration   TEXT NOT NULL,
    wildcard_domain TEXT,
    hostname        TEXT,
    is_default      BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (project_id, name)
);

CREATE TABLE exports (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    is_global  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX exports_global ON exports (is_global);

CREATE TABLE exported_fleets (
    export_id TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    fleet_id  TEXT NOT NULL REFERENCES fleets (id) ON DELETE CASCADE,
    PRIMARY KEY (export_id, fleet_id)
);
CREATE INDEX exported_fleets_fleet ON exported_fleets (fleet_id);

CREATE TABLE exported_gateways (
    export_id  TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    gateway_id TEXT NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
    PRIMARY KEY (export_id, gateway_id)
);

CREATE TABLE imports (
    id         TEXT PRIMARY KEY,
    export_id  TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (export_id, project_id)
);
CREATE INDEX imports_project ON imports (project_id);
