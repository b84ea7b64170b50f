// Package server owns the lifecycle of the control plane: it opens the
// database, applies config.yml, bootstraps the admin and projects, serves
// the HTTP API, and shuts down in order.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dstackgo/dstack/backends/catalog"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/replica"
	"github.com/dstackgo/dstack/server/background"
	"github.com/dstackgo/dstack/server/config"
	"github.com/dstackgo/dstack/server/metrics"
	"github.com/dstackgo/dstack/server/proxy"
	"github.com/dstackgo/dstack/server/services"
	"github.com/dstackgo/dstack/server/sshconsole"
)

// Options configure a server; the cli fills them from flags and env.
type Options struct {
	// Version is the binary's version, for the status page.
	Version string
	// Dir is the state directory (config.yml, data/, projects/…/logs).
	Dir string
	// DatabaseURL overrides the SQLite file under Dir.
	DatabaseURL string
	Host        string
	Port        int
	// URL is the externally visible URL; defaults to http://Host:Port.
	URL string
	// AdminToken is the admin's token on first start; random when empty.
	AdminToken     string
	ConfigDisabled bool
	ProjectQuota   int
	DBPoolSize     int
	// BackgroundDisabled runs the API only (DSTACK_SERVER_BACKGROUND_PROCESSING_DISABLED).
	BackgroundDisabled bool
	// AgentBinary is the path or URL of the Linux dstack binary deployed to
	// SSH hosts, with {os}, {arch} and {version} (see backends/agent/dist);
	// the running binary when it fits the host, else the release download.
	AgentBinary string
	// AgentReleaseURL is the folder of release archives (dist.DefaultReleaseURL).
	AgentReleaseURL string
	// CloudWatchGroup and CloudWatchRegion store job logs in CloudWatch Logs
	// instead of files under Dir.
	CloudWatchGroup  string
	CloudWatchRegion string
	// CloudWatchEndpoint overrides the AWS endpoint (an emulator).
	CloudWatchEndpoint string
	// AWSEndpoint overrides the AWS API endpoint of AWS backends (an
	// emulator); the SDK's resolution (AWS_ENDPOINT_URL) when empty.
	AWSEndpoint string
	// CatalogURL is where offer catalogs are published (GPUHUNT_CATALOG_URL).
	CatalogURL string
	// DefaultCredsDisabled refuses backends with `creds: {type: default}`.
	DefaultCredsDisabled bool
	// InstanceProvisioningTimeout bounds a cloud instance's way from launch
	// to an answering agent (10 minutes when 0); AgentGrace is how long user
	// data may take to start the agent before it is uploaded over SSH.
	InstanceProvisioningTimeout time.Duration
	AgentGrace                  time.Duration
	// SweepInterval is how often cloud instances without a live record are
	// looked for (2 minutes when 0).
	SweepInterval time.Duration
	// MetricsRunningTTL and MetricsFinishedTTL keep the resource usage
	// samples of running and of finished jobs
	// (DSTACK_SERVER_METRICS_RUNNING_TTL_SECONDS, 1 hour when 0, and
	// DSTACK_SERVER_METRICS_FINISHED_TTL_SECONDS, 7 days when 0).
	MetricsRunningTTL, MetricsFinishedTTL time.Duration
	// EventsTTL is how long events are kept (DSTACK_SERVER_EVENTS_TTL_SECONDS;
	// 30 days when 0).
	EventsTTL time.Duration
	// JobNetworkMode is DSTACK_SERVER_JOB_NETWORK_MODE (1, 2 or 3).
	JobNetworkMode int
	// CodeUploadLimit caps code and archive uploads in bytes (0: none).
	CodeUploadLimit int64
	// ConsoleSSHPort serves the console over SSH on Host:ConsoleSSHPort (0: off).
	ConsoleSSHPort int
	// LitestreamURL replicates the SQLite database to this replica and
	// restores it from there when absent (LITESTREAM_REPLICA_URL).
	LitestreamURL string
	// LitestreamSyncInterval is how often changes are shipped; 1 s when 0.
	LitestreamSyncInterval time.Duration
	// Metrics serves Prometheus metrics at /metrics
	// (DSTACK_ENABLE_PROMETHEUS_METRICS), behind MetricsToken when set.
	Metrics      bool
	MetricsToken string
	// ResubmitAfter is the back-off before a pending run's resubmission
	// number attempt; nil means upstream's schedule (15 s, 30 s, 1 m, …).
	ResubmitAfter func(attempt int) time.Duration
	// DeployTimeout is how long an SSH fleet host may fail to be set up
	// before it is given up (terminated); 20 minutes when zero.
	DeployTimeout time.Duration
	Logger        *slog.Logger
	// Replica names this server in the leases it holds on rows (lock_owner
	// is "<pipeline>@<Replica>"), telling replicas on one database apart;
	// random when empty.
	Replica string
	// SSHDial opens the TCP connections to hosts' SSH servers; a plain
	// dialer when nil. The scale tests reach in-process hollow hosts with it.
	SSHDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Announce receives the startup lines a user reads (config applied,
	// admin token, URL). Nil discards them.
	Announce func(format string, args ...any)
}

// Server is a started control plane, ready to Run.
type Server struct {
	opts       Options
	db         *db.DB
	env        *services.Env
	listener   net.Listener
	http       *http.Server
	supervisor *background.Supervisor
	console    *sshconsole.Server
	notifier   *background.Notifier
	proxy      *proxy.Proxy // the service proxy; background wake-ups refresh its routes
	pool       *sshfleet.Pool
	binaries   *sshfleet.Binaries
	replica    *replica.Replica
	metrics    *metrics.Metrics
	catalog    *catalog.Catalog
	log        *slog.Logger
	AdminToken string
	// Keyring is the encryption keyring config.yml configures.
	Keyring *crypto.Keyring
}

// New starts everything short of serving: it validates config.yml, opens and
// migrates the database, bootstraps users and projects, and binds the port.
// Any failure leaves nothing running.
func New(ctx context.Context, o Options) (s *Server, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Announce == nil {
		o.Announce = func(string, ...any) {}
	}
	log := o.Logger
	if err := os.MkdirAll(filepath.Join(o.Dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("create server dir: %w", err)
	}
	cfgPath := filepath.Join(o.Dir, "config.yml")
	cfg, existed, err := loadConfig(cfgPath, o.ConfigDisabled)
	if err != nil {
		return nil, err
	}
	keyring, err := cfg.Keyring()
	if err != nil {
		return nil, fmt.Errorf("%s: encryption: %w", cfgPath, err)
	}
	target, err := databaseTarget(o)
	if err != nil {
		return nil, err
	}
	// Bind first: a busy port fails before any state is touched.
	ln, err := listen(o.Host, o.Port)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = ln.Close()
		}
	}()
	rep, err := prepareReplica(ctx, o, target)
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, target, db.Options{Logger: log.With("component", "db"), PoolSize: o.DBPoolSize})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	if applied, err := d.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", target, err)
	} else if len(applied) > 0 {
		log.Info("applied migrations", "count", len(applied), "last", applied[len(applied)-1])
	}
	if rep != nil {
		if err = rep.Start(context.WithoutCancel(ctx)); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				_ = rep.Close(context.WithoutCancel(ctx))
			}
		}()
	}
	logs, err := openLogStore(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = logs.Close()
		}
	}()
	cat, clouds := newClouds(o, log)
	env := &services.Env{DB: d, Sealer: keyring, Perms: cfg.Permissions(), ProjectQuota: o.ProjectQuota,
		Log: log.With("component", "services"), Logs: logs, CodeUploadLimit: o.CodeUploadLimit, Clouds: clouds,
		Stats: services.NewServiceStats()}
	if !o.ConfigDisabled {
		o.Announce("Applying %s...", displayPath(cfgPath))
	}
	token, err := services.Bootstrap(ctx, env, o.AdminToken, projectNames(cfg))
	if err != nil {
		return nil, err
	}
	if err := applyBackends(ctx, env, cfg, cfgPath); err != nil {
		return nil, err
	}
	if !existed && !o.ConfigDisabled {
		if err := config.Default().Write(cfgPath); err != nil {
			return nil, fmt.Errorf("write %s: %w", cfgPath, err)
		}
		log.Info("wrote a default config", "path", cfgPath)
	}
	s = &Server{opts: o, db: d, env: env, listener: ln, log: log, AdminToken: token, Keyring: keyring, replica: rep, catalog: cat}
	s.binaries = agentBinaries(o)
	status := &services.Status{Env: env, Version: o.Version, Database: target.String(), StartedAt: time.Now(),
		Replication: s.replicationStatus}
	s.http = &http.Server{Handler: s.handler(status), ReadHeaderTimeout: 30 * time.Second}
	if !o.BackgroundDisabled {
		s.startBackground()
	}
	if err = s.startConsole(); err != nil {
		s.closeAgents()
		return nil, err
	}
	return s, nil
}

// URL is the server's externally visible URL.
func (s *Server) URL() string {
	if s.opts.URL != "" {
		return s.opts.URL
	}
	host := s.opts.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	_, port, _ := net.SplitHostPort(s.listener.Addr().String())
	return "http://" + net.JoinHostPort(host, port)
}

// Run serves until ctx is cancelled, then shuts down in order: stop
// accepting and drain requests, then close the database.
func (s *Server) Run(ctx context.Context) error {
	if s.AdminToken != "" {
		s.opts.Announce("The admin token is %q", s.AdminToken)
	} else {
		s.opts.Announce("The admin token cannot be shown: the encryption key that wrote it is not in config.yml (see the log)")
	}
	s.opts.Announce("The server is running at %s/", s.URL())
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		if s.console != nil {
			s.opts.Announce("The console is served over SSH at %s (ssh -p %d <user>@<host>)", s.console.Addr(), s.opts.ConsoleSSHPort)
			if err := s.console.Run(bgCtx); err != nil && bgCtx.Err() == nil {
				s.log.Error("SSH console stopped", "err", err)
			}
		}
	}()
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		if s.supervisor != nil {
			catDone := make(chan struct{})
			sweepDone := make(chan struct{})
			metricsDone := make(chan struct{})
			eventsDone := make(chan struct{})
			go func() { defer close(catDone); s.runCatalog(bgCtx) }()
			go func() { defer close(sweepDone); s.runSweeper(bgCtx) }()
			go func() { defer close(metricsDone); s.runJobMetrics(bgCtx) }()
			go func() { defer close(eventsDone); s.runEventsTTL(bgCtx) }()
			defer func() { <-catDone; <-sweepDone; <-metricsDone; <-eventsDone }()
			go s.notifier.Listen(bgCtx)
			s.supervisor.Run(bgCtx)
		}
	}()
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		if err := (services.Encryption{Env: s.env, Keys: s.Keyring}).CheckKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("check stored values against the encryption keys", "err", err)
		}
	}()
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	s.log.Info("shutting down: stop accepting requests")
	if err := s.http.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("http shutdown", "err", err)
	}
	s.log.Info("shutting down: stop background pipelines and the console")
	stopBackground()
	<-bgDone
	<-consoleDone
	<-checked
	s.closeAgents()
	s.log.Info("shutting down: close log storage")
	if err := s.env.Logs.Close(); err != nil {
		s.log.Warn("close log storage", "err", err)
	}
	s.log.Info("shutting down: close database")
	if err := s.db.Close(); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("close database: %w", err))
	}
	if s.replica != nil {
		s.log.Info("shutting down: ship the last changes to the replica")
		if err := s.replica.Close(sctx); err != nil {
			serveErr = errors.Join(serveErr, err)
		}
	}
	return serveErr
}

func listen(host string, port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %d on %s is already in use (another dstack server?): stop it or pick another with --port", port, host)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s:%d: %w", host, port, err)
	}
	return ln, nil
}

func loadConfig(path string, disabled bool) (*config.File, bool, error) {
	if disabled {
		return config.Default(), false, nil
	}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return config.Default(), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return cfg, true, nil
}

func databaseTarget(o Options) (db.Target, error) {
	if o.DatabaseURL != "" {
		t, err := db.ParseURL(o.DatabaseURL)
		if err != nil {
			return db.Target{}, fmt.Errorf("DSTACK_DATABASE_URL: %w", err)
		}
		return t, nil
	}
	return db.Target{Dialect: db.SQLite, Path: filepath.Join(o.Dir, "data", "sqlite.db")}, nil
}

func projectNames(cfg *config.File) []string {
	names := []string{"main"}
	for _, p := range cfg.Projects {
		if p.Name != "main" {
			names = append(names, p.Name)
		}
	}
	return names
}

// displayPath shortens a path under the home directory to ~/….
func displayPath(p string) string {
	home, err := os.UserHomeDir()
	if err == nil {
		if rel, err := filepath.Rel(home, p); err == nil && !filepath.IsAbs(rel) && !strings.HasPrefix(rel, "..") {
			return "~/" + rel
		}
	}
	return p
}
