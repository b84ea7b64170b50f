-- Service replicas: the state of each probe of a running job (successive
-- successes, when it last ran), processed by the probes pipeline, and the
-- number of replicas a service run is scaled to.
CREATE TABLE job_probes (
    id                TEXT PRIMARY KEY,
    job_id            TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    probe_num         INTEGER NOT NULL,
    success_streak    INTEGER NOT NULL DEFAULT 0,
    probed_at         TIMESTAMP,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    last_processed_at TIMESTAMP NOT NULL,
    lock_owner        TEXT,
    lock_token        TEXT,
    lock_expires_at   TIMESTAMP
);
CREATE UNIQUE INDEX job_probes_job ON job_probes (job_id, probe_num);
CREATE INDEX job_probes_active ON job_probes (last_processed_at) WHERE active = TRUE;

ALTER TABLE runs ADD COLUMN desired_replica_count INTEGER;
