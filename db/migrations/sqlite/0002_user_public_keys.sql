-- SSH public keys users register for themselves (console over SSH, attach).
CREATE TABLE user_public_keys (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    key         TEXT NOT NULL,
    added_at    TIMESTAMP NOT NULL,
    UNIQUE (user_id, fingerprint)
);
CREATE INDEX user_public_keys_fingerprint ON user_public_keys (fingerprint);
