-- Claims take the rows a pipeline processed longest ago (ORDER BY
-- last_processed_at LIMIT n) among the rows it works. Indexed by status
-- first, such a claim sorted every active row to take a few: 25-46 ms on
-- PostgreSQL with 1,000 active runs (EXPLAIN ANALYZE, under load), 0.3 ms
-- when it walks these indexes in order and stops at n.
CREATE INDEX runs_claim ON runs (last_processed_at) WHERE deleted = FALSE AND status NOT IN ('terminated', 'failed', 'done');
CREATE INDEX jobs_running_claim ON jobs (last_processed_at) WHERE status IN ('provisioning', 'pulling', 'running');
CREATE INDEX instances_claim ON instances (last_processed_at)
    WHERE deleted = FALSE AND status IN ('pending', 'provisioning', 'idle', 'busy', 'terminating');
