package services

import (
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/config"
)

// Env is what every service needs. It is built once by the server and
// shared; fields are set before the API starts and not changed after.
type Env struct {
	DB     *db.DB
	Sealer db.Sealer
	Perms  config.DefaultPermissions
	// ProjectQuota is how many projects a non-admin may own.
	ProjectQuota int
	Log          *slog.Logger
	// Now is the clock; tests may pin it.
	Now func() time.Time
	// Logs stores job logs.
	Logs logstore.Store
	// CodeUploadLimit caps uploaded code and archives in bytes (0: none).
	CodeUploadLimit int64
	// Clouds are the backend types the server can configure and the
	// projects' opened backends; nil when it has none.
	Clouds *Clouds
	// Wake asks the named background pipelines to run at once; nil when
	// background processing is off.
	Wake func(pipelines ...string)
	// Stats counts the requests the service proxy forwards, for the
	// autoscaler; nil when the server publishes no services.
	Stats *ServiceStats
}

// WakeUp pokes pipelines when background processing runs in this process.
func (e *Env) WakeUp(pipelines ...string) {
	if e.Wake != nil {
		e.Wake(pipelines...)
	}
}

// now is the current time in UTC at microsecond precision, the precision
// both databases keep and the official client parses.
func (e *Env) now() time.Time {
	t := time.Now
	if e.Now != nil {
		t = e.Now
	}
	return t().UTC().Truncate(time.Microsecond)
}
