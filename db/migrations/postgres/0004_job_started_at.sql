-- When the runner started a job: the first pull of its state is timed from it.
ALTER TABLE jobs ADD COLUMN started_at TIMESTAMPTZ;
