-- Fleets and their instances, runs and their jobs, repos, uploaded code and
-- archives, and pinned SSH host keys. Rows processed by background pipelines
-- carry lease columns: lock_owner, lock_token, lock_expires_at.
CREATE TABLE fleets (
    id                UUID PRIMARY KEY,
    project_id        UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    last_processed_at TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT,
    spec              TEXT NOT NULL,
    ssh_private_keys  TEXT,
    deleted           BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at        TIMESTAMPTZ,
    lock_owner        TEXT,
    lock_token        TEXT,
    lock_expires_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX fleets_project_name_live ON fleets (project_id, name) WHERE deleted = FALSE;
CREATE INDEX fleets_status ON fleets (status, last_processed_at) WHERE deleted = FALSE;

CREATE TABLE instances (
    id                         UUID PRIMARY KEY,
    project_id                 UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    fleet_id                   UUID REFERENCES fleets (id),
    name                       TEXT NOT NULL,
    instance_num               INTEGER NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL,
    started_at                 TIMESTAMPTZ,
    finished_at                TIMESTAMPTZ,
    last_processed_at          TIMESTAMPTZ NOT NULL,
    status                     TEXT NOT NULL,
    status_message             TEXT,
    unreachable                BOOLEAN NOT NULL DEFAULT FALSE,
    health                     TEXT NOT NULL DEFAULT 'healthy',
    termination_reason         TEXT,
    termination_reason_message TEXT,
    backend                    TEXT,
    region                     TEXT,
    price                      DOUBLE PRECISION,
    offer                      TEXT,
    job_provisioning_data      TEXT,
    remote_connection_info     TEXT,
    host_info                  TEXT,
    total_blocks               INTEGER,
    busy_blocks                INTEGER NOT NULL DEFAULT 0,
    deleted                    BOOLEAN NOT NULL DEFAULT FALSE,
    lock_owner                 TEXT,
    lock_token                 TEXT,
    lock_expires_at            TIMESTAMPTZ
);
CREATE INDEX instances_fleet ON instances (fleet_id);
CREATE INDEX instances_status ON instances (status, last_processed_at) WHERE deleted = FALSE;
CREATE INDEX instances_project ON instances (project_id, created_at);

CREATE TABLE repos (
    id         UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    info       TEXT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE repo_creds (
    id      UUID PRIMARY KEY,
    repo_id UUID NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creds   TEXT NOT NULL,
    UNIQUE (repo_id, user_id)
);

CREATE TABLE codes (
    id        UUID PRIMARY KEY,
    repo_id   UUID NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    blob      BYTEA,
    UNIQUE (repo_id, blob_hash)
);

CREATE TABLE file_archives (
    id        UUID PRIMARY KEY,
    user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    blob      BYTEA,
    UNIQUE (user_id, blob_hash)
);

CREATE TABLE runs (
    id                   UUID PRIMARY KEY,
    project_id           UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id              UUID NOT NULL REFERENCES users (id),
    repo_id              UUID REFERENCES repos (id),
    fleet_id             UUID REFERENCES fleets (id),
    run_name             TEXT NOT NULL,
    submitted_at         TIMESTAMPTZ NOT NULL,
    last_processed_at    TIMESTAMPTZ NOT NULL,
    status               TEXT NOT NULL,
    termination_reason   TEXT,
    resubmission_attempt INTEGER NOT NULL DEFAULT 0,
    run_spec             TEXT NOT NULL,
    priority             INTEGER NOT NULL DEFAULT 0,
    deployment_num       INTEGER NOT NULL DEFAULT 0,
    next_triggered_at    TIMESTAMPTZ,
    deleted              BOOLEAN NOT NULL DEFAULT FALSE,
    lock_owner           TEXT,
    lock_token           TEXT,
    lock_expires_at      TIMESTAMPTZ
);
CREATE INDEX runs_project_submitted ON runs (project_id, submitted_at);
CREATE INDEX runs_status ON runs (status, last_processed_at) WHERE deleted = FALSE;
CREATE INDEX runs_name ON runs (project_id, run_name);

CREATE TABLE jobs (
    id                         UUID PRIMARY KEY,
    project_id                 UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    run_id                     UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    fleet_id                   UUID REFERENCES fleets (id),
    instance_id                UUID REFERENCES instances (id),
    used_instance_id           UUID,
    run_name                   TEXT NOT NULL,
    job_num                    INTEGER NOT NULL,
    job_name                   TEXT NOT NULL,
    replica_num                INTEGER NOT NULL DEFAULT 0,
    submission_num             INTEGER NOT NULL DEFAULT 0,
    deployment_num             INTEGER NOT NULL DEFAULT 0,
    submitted_at               TIMESTAMPTZ NOT NULL,
    last_processed_at          TIMESTAMPTZ NOT NULL,
    finished_at                TIMESTAMPTZ,
    status                     TEXT NOT NULL,
    termination_reason         TEXT,
    termination_reason_message TEXT,
    exit_status                INTEGER,
    job_spec_data              TEXT NOT NULL,
    job_provisioning_data      TEXT,
    job_runtime_data           TEXT,
    runner_timestamp           BIGINT,
    disconnected_at            TIMESTAMPTZ,
    remove_at                  TIMESTAMPTZ,
    instance_assigned          BOOLEAN NOT NULL DEFAULT FALSE,
    lock_owner                 TEXT,
    lock_token                 TEXT,
    lock_expires_at            TIMESTAMPTZ
);
CREATE INDEX jobs_run ON jobs (run_id, replica_num, job_num, submission_num);
CREATE INDEX jobs_status ON jobs (status, last_processed_at);
CREATE INDEX jobs_instance ON jobs (instance_id);

CREATE TABLE host_keys (
    host       TEXT NOT NULL,
    port       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host, port)
);
