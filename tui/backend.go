package tui

import (
	"context"
	"errors"

	"github.com/dstackgo/dstack/server/schemas"
)

// Backend is what the console needs of a dstack server. HTTPBackend is the
// real one; tests use a small fake.
type Backend interface {
	// ListRuns lists the project's runs, newest first.
	ListRuns(ctx context.Context, project string, onlyActive bool) ([]schemas.Run, error)
	// GetRun returns one run with all its jobs.
	GetRun(ctx context.Context, project, name string) (*schemas.Run, error)
	// StopRun stops a run gracefully, or at once when abort is set.
	StopRun(ctx context.Context, project, name string, abort bool) error
	// ListFleets lists the project's fleets with their instances.
	ListFleets(ctx context.Context, project string) ([]schemas.Fleet, error)
	// PollLogs returns one page of a job submission's logs (messages are base64).
	PollLogs(ctx context.Context, project string, req schemas.PollLogsRequest) (*schemas.JobSubmissionLogs, error)
	// EncryptionStatus counts stored values per encryption key (admins only).
	EncryptionStatus(ctx context.Context) (*schemas.EncryptionStatus, error)
	// ServerStatus describes the running server (admins only).
	ServerStatus(ctx context.Context) (*schemas.ServerStatus, error)
	// ListEvents returns the project's latest events, newest first.
	ListEvents(ctx context.Context, project string) ([]schemas.Event, error)
	// ListBackends lists the backends of every project the user sees.
	ListBackends(ctx context.Context) ([]ProjectBackends, error)
	// ServiceStats returns the traffic of the project's live services.
	ServiceStats(ctx context.Context, project string) ([]schemas.ServiceStats, error)
	// Whoami says who the token belongs to and which server answers.
	Whoami(ctx context.Context) (*Identity, error)
}

// Identity is the user behind the token and the server they talk to.
type Identity struct {
	Username      string
	Admin         bool
	ServerURL     string
	ServerVersion string
}

// Backend errors the pages tell apart; a Backend wraps its own errors with
// them (errors.Is), keeping the cause in the message.
var (
	// ErrNotAvailable means the server does not offer the route (404):
	// an older or partial server.
	ErrNotAvailable = errors.New("not available on this server")
	// ErrForbidden means the user may not see this (403).
	ErrForbidden = errors.New("access denied")
	// ErrUnreachable means the server did not answer: the console shows the
	// lost-server banner and retries with back-off.
	ErrUnreachable = errors.New("server unreachable")
)
