-- Resource usage of running jobs, sampled from their runners about every
-- 10 s: cumulative CPU time (µs), memory in use and its working set
-- (bytes), and per GPU the memory in use (bytes) and utilization (%) as
-- JSON arrays, one value per GPU. Points are pruned after
-- DSTACK_SERVER_METRICS_RUNNING_TTL_SECONDS while the job runs and
-- DSTACK_SERVER_METRICS_FINISHED_TTL_SECONDS once it has finished.
CREATE TABLE job_metrics_points (
    id                       UUID PRIMARY KEY,
    job_id                   UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    timestamp_micro          BIGINT NOT NULL,
    cpu_usage_micro          BIGINT NOT NULL,
    memory_usage_bytes       BIGINT NOT NULL,
    memory_working_set_bytes BIGINT NOT NULL,
    gpus_memory_usage_bytes  TEXT NOT NULL,
    gpus_util_percent        TEXT NOT NULL
);
CREATE INDEX job_metrics_points_job ON job_metrics_points (job_id, timestamp_micro);
