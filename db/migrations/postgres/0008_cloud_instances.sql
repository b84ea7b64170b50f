-- Cloud instances: what an instance is provisioned for (requirements and
-- profile, JSON) and the sha256 of the token its user data presents to
-- download the agent. Jobs are looked up by the instance they last used
-- (idle time of an instance).
ALTER TABLE instances ADD COLUMN requirements TEXT;
ALTER TABLE instances ADD COLUMN profile TEXT;
ALTER TABLE instances ADD COLUMN agent_token_hash TEXT;
CREATE INDEX instances_agent_token ON instances (agent_token_hash);
CREATE INDEX jobs_used_instance ON jobs (used_instance_id);
