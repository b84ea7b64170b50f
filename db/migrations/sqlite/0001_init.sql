-- Users, projects and their members, project secrets and backends.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    token           TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    global_role     TEXT NOT NULL,
    email           TEXT,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    original_name   TEXT,
    ssh_private_key TEXT,
    ssh_public_key  TEXT
);
CREATE UNIQUE INDEX users_name_lower ON users (lower(name));

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    owner_id        TEXT NOT NULL REFERENCES users (id),
    is_public       BOOLEAN NOT NULL DEFAULT FALSE,
    templates_repo  TEXT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    original_name   TEXT,
    ssh_private_key TEXT NOT NULL,
    ssh_public_key  TEXT NOT NULL
);
CREATE UNIQUE INDEX projects_name_lower ON projects (lower(name));

CREATE TABLE members (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_role TEXT NOT NULL,
    member_num   INTEGER,
    UNIQUE (project_id, user_id)
);
CREATE INDEX members_user_id ON members (user_id);

CREATE TABLE secrets (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE backends (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    config        TEXT NOT NULL,
    auth          TEXT NOT NULL,
    source_config TEXT,
    source_auth   TEXT,
    UNIQUE (project_id, type)
);
