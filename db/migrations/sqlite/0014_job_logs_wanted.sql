-- When a client first asked for the logs of a running job that the server had
-- not pulled yet: the runner is then pulled at once rather than on schedule.
ALTER TABLE jobs ADD COLUMN logs_wanted_at TIMESTAMP;
