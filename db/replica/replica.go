// Package replica replicates the server's SQLite database continuously to
// object storage with Litestream, built in: no sidecar process. A server
// that starts without its database file restores it from the replica first.
//
// Replica URLs: s3://bucket/path, gcs://bucket/path (or gs://),
// abs://account@container/path and file:///dir. Credentials come from the
// environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY;
// GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS_JSON
// (a service account key or gcloud's application default credentials; on
// a Google Cloud VM, its service account); LITESTREAM_AZURE_ACCOUNT_KEY.
// S3-compatible storage takes ?endpoint=https://host (or
// LITESTREAM_S3_ENDPOINT) and ?region=; STORAGE_EMULATOR_HOST points
// gcs:// at a GCS emulator.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/abs"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// Options configure replication of one SQLite database.
type Options struct {
	// URL is LITESTREAM_REPLICA_URL.
	URL string
	// Path is the SQLite database file.
	Path string
	// SyncInterval is how often changes are shipped to the replica; 1 s by
	// default (what a crash can lose at most, plus the upload time).
	SyncInterval time.Duration
	Logger       *slog.Logger
}

// Replica is the database's replication: Prepare it before the database is
// opened, Start it once the database exists, Close it after the database.
type Replica struct {
	opts    Options
	client  litestream.ReplicaClient
	db      *litestream.DB
	store   *litestream.Store
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	status  Status
	behind  time.Time
	display string
}

// Status is the replication's state, for the console and /metrics.
type Status struct {
	// URL is the replica URL without credentials.
	URL string `json:"url"`
	// LocalTXID and ReplicaTXID are the last transaction written locally and
	// the last one the replica holds.
	LocalTXID   uint64 `json:"local_txid"`
	ReplicaTXID uint64 `json:"replica_txid"`
	// LagSeconds is how long the replica has been behind the database (0
	// when it holds every transaction).
	LagSeconds float64 `json:"lag_seconds"`
	// Restored is true when this start restored the database from the replica.
	Restored bool `json:"restored"`
	// Error is the last failure to read the replication state, if any.
	Error string `json:"error,omitempty"`
}

// Prepare checks that the replica at opts.URL can be reached and, when the
// database file does not exist, restores it from the replica (a replica
// with no backup yet leaves it absent: a new database is created).
func Prepare(ctx context.Context, opts Options) (*Replica, error) {
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = litestream.DefaultSyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	client, display, err := newClient(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("LITESTREAM_REPLICA_URL %s: %w", redact(opts.URL), err)
	}
	client.SetLogger(opts.Logger)
	r := &Replica{opts: opts, client: client, display: display, status: Status{URL: display}}
	if err := r.reach(ctx); err != nil {
		return nil, fmt.Errorf("replica %s cannot be reached (check the URL and its credentials): %w", display, err)
	}
	if _, err := os.Stat(opts.Path); errors.Is(err, os.ErrNotExist) {
		restored, err := r.restore(ctx)
		if err != nil {
			return nil, fmt.Errorf("restore the database from %s: %w", display, err)
		}
		r.status.Restored = restored
	} else if err != nil {
		return nil, err
	}
	return r, nil
}

// Restored reports whether Prepare restored the database.
func (r *Replica) Restored() bool { return r.status.Restored }

// URL is the replica URL without credentials.
func (r *Replica) URL() string { return r.display }

// reach lists the replica's first files: it fails on a missing bucket,
// bad credentials or an unreachable endpoint.
func (r *Replica) reach(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.client.Init(ctx); err != nil {
		return err
	}
	itr, err := r.client.LTXFiles(ctx, 0, 0, false)
	if err != nil {
		return err
	}
	itr.Next()
	return itr.Close()
}

// restore writes the replica's latest state to the database path.
func (r *Replica) restore(ctx context.Context) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(r.opts.Path), 0o700); err != nil {
		return false, err
	}
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = r.opts.Path
	opt.IntegrityCheck = litestream.IntegrityCheckQuick
	err := litestream.NewReplicaWithClient(nil, r.client).Restore(ctx, opt)
	if errors.Is(err, litestream.ErrTxNotAvailable) || errors.Is(err, litestream.ErrNoSnapshots) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	r.opts.Logger.Info("restored the database from the replica", "replica", r.display, "path", r.opts.Path)
	return true, nil
}

// newClient builds the Litestream client for a replica URL; gcs:// is
// taken for gs://.
func newClient(raw string) (litestream.ReplicaClient, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", err
	}
	display := redact(raw)
	switch u.Scheme {
	case "s3":
		c, err := s3.NewReplicaClientFromURL(u.Scheme, u.Host, strings.TrimPrefix(u.Path, "/"), u.Query(), u.User)
		return c, display, err
	case "gs", "gcs":
		c, err := newGCSClient(u.Host, u.Path)
		return c, display, err
	case "abs":
		c, err := abs.NewReplicaClientFromURL(u.Scheme, u.Host, strings.TrimPrefix(u.Path, "/"), u.Query(), u.User)
		return c, display, err
	case "file":
		if u.Path == "" {
			return nil, "", errors.New("a file replica needs a path: file:///var/backups/dstack")
		}
		return file.NewReplicaClient(filepath.Clean(u.Path)), display, nil
	}
	return nil, "", fmt.Errorf("unsupported scheme %q: use s3://bucket/path, gcs://bucket/path, abs://account@container/path or file:///path", u.Scheme)
}

// redact drops the password of a URL's user info and any secret query
// values, for logs and status pages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}
