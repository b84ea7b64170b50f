-- A database as dstack left it after migration 0001_init: one admin, one
-- user, project main with both as members, and a secret.
CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL);
INSERT INTO schema_migrations VALUES ('0001_init', '2026-01-02 03:04:05+00:00');
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
INSERT INTO users (id, name, created_at, token, token_hash, global_role, email, active, deleted)
VALUES ('6f1c8a52-3b7e-4c43-9a55-0b6a1d2e3f40', 'admin', '2026-01-02 03:04:05+00:00',
        'enc:identity:noname:old-admin-token',
        '53b9ae68c0c0b5ca2af3d5dfa2a6c9c1b4f1fa4e6b1c1d7d0a4f9a4cfb0a2fd1', 'admin', NULL, 1, 0),
       ('0b7d3c29-5f2a-4d8e-8b1c-7e6f5a4b3c21', 'alice', '2026-01-03 03:04:05+00:00',
        'enc:identity:noname:old-alice-token',
        'd6a4c1bb4b1e2b7f8e2c9b0a1f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e', 'user', 'alice@example.com', 1, 0);
INSERT INTO projects (id, name, created_at, owner_id, is_public, deleted, ssh_private_key, ssh_public_key)
VALUES ('a3e2d1c0-b9a8-4f7e-9d6c-5b4a3f2e1d0c', 'main', '2026-01-02 03:04:05+00:00',
        '6f1c8a52-3b7e-4c43-9a55-0b6a1d2e3f40', 0, 0, 'enc:identity:noname:-----BEGIN OPENSSH PRIVATE KEY-----', 'ssh-ed25519 AAAA main');
INSERT INTO members (id, project_id, user_id, project_role, member_num)
VALUES ('11111111-2222-4333-8444-555555555555', 'a3e2d1c0-b9a8-4f7e-9d6c-5b4a3f2e1d0c', '6f1c8a52-3b7e-4c43-9a55-0b6a1d2e3f40', 'admin', 0),
       ('66666666-7777-4888-9999-aaaaaaaaaaaa', 'a3e2d1c0-b9a8-4f7e-9d6c-5b4a3f2e1d0c', '0b7d3c29-5f2a-4d8e-8b1c-7e6f5a4b3c21', 'user', 1);
INSERT INTO secrets (id, project_id, name, value, created_at, updated_at)
VALUES ('bbbbbbbb-cccc-4ddd-8eee-ffffffffffff', 'a3e2d1c0-b9a8-4f7e-9d6c-5b4a3f2e1d0c', 'HF_TOKEN', 'enc:identity:noname:hf_abc', '2026-01-04 03:04:05+00:00', '2026-01-04 03:04:05+00:00');
