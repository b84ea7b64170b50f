-- One live run per name in a project, and one live instance per machine.
--
-- Runs: earlier versions could store two live runs with one name (a race
-- between applies, or a repeated generated name); the older of each such
-- pair is renamed "<name>-<first 8 characters of its id>" (its jobs and its
-- stored spec too, whose text starts with the name), so that both stay
-- reachable by name, before the unique index goes in.
UPDATE runs
SET run_name = run_name || '-' || substr(id::text, 1, 8),
    run_spec = regexp_replace(run_spec, '^\{"run_name":"[^"]*"',
        '{"run_name":' || to_json(run_name || '-' || substr(id::text, 1, 8))::text)
WHERE deleted = FALSE AND EXISTS (
    SELECT 1 FROM runs AS newer
    WHERE newer.project_id = runs.project_id AND newer.run_name = runs.run_name AND newer.deleted = FALSE
      AND (newer.submitted_at > runs.submitted_at OR (newer.submitted_at = runs.submitted_at AND newer.id > runs.id))
);
UPDATE jobs SET run_name = runs.run_name FROM runs WHERE runs.id = jobs.run_id AND jobs.run_name <> runs.run_name;
CREATE UNIQUE INDEX runs_project_name_live ON runs (project_id, run_name) WHERE deleted = FALSE;

-- Instances of SSH fleets: host_address is the host as configured
-- ("host:port", lower case), host_key the SHA256 fingerprint of the SSH
-- host key it presented. Either identifies the machine: a live instance
-- (not deleted, not terminated) holds both, across projects. Existing rows
-- are filled in by the instances pipeline.
ALTER TABLE instances ADD COLUMN host_address TEXT;
ALTER TABLE instances ADD COLUMN host_key TEXT;
CREATE UNIQUE INDEX instances_host_address_live ON instances (host_address)
    WHERE deleted = FALSE AND status <> 'terminated' AND host_address IS NOT NULL;
CREATE UNIQUE INDEX instances_host_key_live ON instances (host_key)
    WHERE deleted = FALSE AND status <> 'terminated' AND host_key IS NOT NULL;
