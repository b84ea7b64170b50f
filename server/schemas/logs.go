package schemas

import "time"

// PollLogsRequest is the body of logs/poll.
type PollLogsRequest struct {
	RunName         string     `json:"run_name"`
	JobSubmissionID string     `json:"job_submission_id"`
	StartTime       *time.Time `json:"start_time"`
	EndTime         *time.Time `json:"end_time"`
	Descending      bool       `json:"descending"`
	NextToken       *string    `json:"next_token"`
	Limit           *int       `json:"limit"`
	Diagnose        bool       `json:"diagnose"`
}

// LogEvent is one log line; Message is base64 of the raw bytes on the wire.
type LogEvent struct {
	Timestamp time.Time `json:"timestamp"`
	LogSource string    `json:"log_source"`
	Message   string    `json:"message"`
}

// JobSubmissionLogs is the answer of logs/poll.
type JobSubmissionLogs struct {
	Logs        []LogEvent `json:"logs"`
	ExternalURL *string    `json:"external_url"`
	NextToken   *string    `json:"next_token"`
}
