-- Fleets and their instances, runs and their jobs, repos, uploaded code and
-- archives, and pinned SSH host keys. Rows processed by background pipelines
-- carry lease columns: lock_owner, lock_token, lock_expires_at.
CREATE TABLE fleets (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    last_processed_at TIMESTAMP NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT,
    spec              TEXT NOT NULL,
    ssh_private_keys  TEXT,
    deleted           BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at        TIMESTAMP,
    lock_owner        TEXT,
    lock_token        TEXT,
    lock_expires_at   TIMESTAMP
);
CREATE UNIQUE INDEX fleets_project_name_live ON fleets (project_id, name) WHERE deleted = FALSE;
CREATE INDEX fleets_status ON fleets (status, last_processed_at) WHERE deleted = FALSE;

CREATE TABLE instances (
    id                         TEXT PRIMARY KEY,
    project_id                 TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    fleet_id                   TEXT REFERENCES fleets (id),
    name                       TEXT NOT NULL,
    instance_num               INTEGER NOT NULL,
    created_at                 TIMESTAMP NOT NULL,
    started_at                 TIMESTAMP,
    finished_at                TIMESTAMP,
    last_processed_at          TIMESTAMP NOT NULL,
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
    lock_expires_at            TIMESTAMP
);
CREATE INDEX instances_fleet ON instances (fleet_id);
CREATE INDEX instances_status ON instances (status, last_processed_at) WHERE deleted = FALSE;
CREATE INDEX instances_project ON instances (project_id, created_at);

CREATE TABLE repos (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    info       TEXT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE repo_creds (
    id      TEXT PRIMARY KEY,
    repo_id TEXT NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creds   TEXT NOT NULL,
    UNIQUE (repo_id, user_id)
);

CREATE TABLE codes (
    id        TEXT PRIMARY KEY,
    repo_id   TEXT NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    blob      BLOB,
    UNIQUE (repo_id, blob_hash)
);

CREATE TABLE file_archives (
    id        TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blob_hash TEXT NOT NULL,
    blob      BLOB,
    UNIQUE (user_id, blob_hash)
);

CREATE TABLE runs (
    id                   TEXT PRIMARY KEY,
    project_id           TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users (id),
    repo_id              TEXT REFERENCES repos (id),
    fleet_id             TEXT REFERENCES fleets (id),
    run_name             TEXT NOT NULL,
    submitted_at         TIMESTAMP NOT NULL,
    last_processed_at    TIMESTAMP NOT NULL,
    status               TEXT NOT NULL,
    termination_reason   TEXT,
    resubmission_attempt INTEGER NOT NULL DEFAULT 0,
    run_spec             TEXT NOT NULL,
    priority             INTEGER NOT NULL DEFAULT 0,
    deployment_num       INTEGER NOT NULL DEFAULT 0,
    next_triggered_at    TIMESTAMP,
    deleted              BOOLEAN NOT NULL DEFAULT FALSE,
    lock_owner           TEXT,
    lock_token           TEXT,
    lock_expires_at      TIMESTAMP
);
CREATE INDEX runs_project_submitted ON runs (project_id, submitted_at);
CREATE INDEX runs_status ON runs (status, last_processed_at) WHERE deleted = FALSE;
CREATE INDEX runs_name ON runs (project_id, run_name);

CREATE TABLE jobs (
    id                         TEXT PRIMARY KEY,
    project_id                 TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    run_id                     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    fleet_id                   TEXT REFERENCES fleets (id),
    instance_id                TEXT REFERENCES instances (id),
    used_instance_id           TEXT,
    run_name                   TEXT NOT NULL,
    job_num                    INTEGER NOT NULL,
    job_name                   TEXT NOT NULL,
    replica_num                INTEGER NOT NULL DEFAULT 0,
    submission_num             INTEGER NOT NULL DEFAULT 0,
    deployment_num             INTEGER NOT NULL DEFAULT 0,
    submitted_at               TIMESTAMP NOT NULL,
    last_processed_at          TIMESTAMP NOT NULL,
    finished_at                TIMESTAMP,
    status                     TEXT NOT NULL,
    termination_reason         TEXT,
    termination_reason_message TEXT,
    exit_status                INTEGER,
    job_spec_data              TEXT NOT NULL,
    job_provisioning_data      TEXT,
    job_runtime_data           TEXT,
    runner_timestamp           BIGINT,
    disconnected_at            TIMESTAMP,
    remove_at                  TIMESTAMP,
    instance_assigned          BOOLEAN NOT NULL DEFAULT FALSE,
    lock_owner                 TEXT,
    lock_token                 TEXT,
    lock_expires_at            TIMESTAMP
);
CREATE INDEX jobs_run ON jobs (run_id, replica_num, job_num, submission_num);
CREATE INDEX jobs_status ON jobs (status, last_processed_at);
CREATE INDEX jobs_instance ON jobs (instance_id);

CREATE TABLE host_keys (
    host       TEXT NOT NULL,
    port       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (host, port)
);
