package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/backends/agent/dist"
	"github.com/dstackgo/dstack/server"
)

func serverCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "Start the dstack server",
		Description: "Starts the control plane on embedded SQLite (or PostgreSQL with DSTACK_DATABASE_URL),\n" +
			"creates the admin user and project main on first start, and applies config.yml.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", EnvVars: []string{"DSTACK_SERVER_HOST"}, Usage: "bind address"},
			&cli.IntFlag{Name: "port", Value: 3000, EnvVars: []string{"DSTACK_SERVER_PORT"}, Usage: "bind port"},
			&cli.StringFlag{Name: "log-level", Value: "INFO", EnvVars: []string{"DSTACK_SERVER_LOG_LEVEL"}, Usage: "DEBUG, INFO, WARNING or ERROR"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"DSTACK_SERVER_ADMIN_TOKEN"}, Usage: "the admin user's token on first start (default: random)"},
			&cli.StringFlag{Name: "dir", EnvVars: []string{"DSTACK_SERVER_DIR"}, Usage: "state directory (default: ~/.dstack/server)"},
			&cli.StringFlag{Name: "database-url", EnvVars: []string{"DSTACK_DATABASE_URL"}, Usage: "PostgreSQL URL (default: SQLite in the state directory)"},
			&cli.StringFlag{Name: "url", EnvVars: []string{"DSTACK_SERVER_URL"}, Usage: "externally visible URL (default: http://HOST:PORT)"},
			&cli.StringFlag{Name: "log-format", Value: "standard", EnvVars: []string{"DSTACK_SERVER_LOG_FORMAT"}, Usage: "standard, rich or json"},
			&cli.BoolFlag{Name: "config-disabled", EnvVars: []string{"DSTACK_SERVER_CONFIG_DISABLED"}, Usage: "ignore config.yml"},
			&cli.IntFlag{Name: "project-quota", Value: 10, EnvVars: []string{"DSTACK_USER_PROJECT_DEFAULT_QUOTA"}, Usage: "projects a non-admin user may own"},
			&cli.IntFlag{Name: "db-pool-size", Value: 40, EnvVars: []string{"DSTACK_DB_POOL_SIZE"}, Usage: "PostgreSQL connections"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, EnvVars: []string{"DSTACK_UPDATE_DEFAULT_PROJECT"}, Usage: "update project main in ~/.dstack/config.yml without asking"},
			&cli.BoolFlag{Name: "background-disabled", EnvVars: []string{"DSTACK_SERVER_BACKGROUND_PROCESSING_DISABLED"}, Usage: "serve the API only (another replica processes runs)"},
			&cli.StringFlag{Name: "agent-binary", EnvVars: []string{"DSTACK_SERVER_AGENT_BINARY"}, Usage: "path or URL of the Linux dstack binary for SSH hosts; {os}, {arch}, {version} are replaced (default: this one when it fits, else the release download)"},
			&cli.StringFlag{Name: "agent-release-url", EnvVars: []string{"DSTACK_SERVER_AGENT_RELEASE_URL"}, Usage: "folder of the release archives to download agents from, {version} replaced (a mirror)", DefaultText: dist.DefaultReleaseURL},
			&cli.StringFlag{Name: "cloudwatch-log-group", EnvVars: []string{"DSTACK_SERVER_CLOUDWATCH_LOG_GROUP"}, Usage: "store job logs in this CloudWatch Logs group (it must exist)"},
			&cli.StringFlag{Name: "cloudwatch-log-region", EnvVars: []string{"DSTACK_SERVER_CLOUDWATCH_LOG_REGION"}, Usage: "the CloudWatch Logs group's region"},
			&cli.StringFlag{Name: "cloudwatch-endpoint", EnvVars: []string{"DSTACK_SERVER_CLOUDWATCH_ENDPOINT"}, Usage: "CloudWatch Logs endpoint URL (an emulator)", Hidden: true},
			&cli.StringFlag{Name: "catalog-url", EnvVars: []string{"GPUHUNT_CATALOG_URL"}, Usage: "where offer catalogs are published (default: gpuhunt's)"},
			&cli.BoolFlag{Name: "default-creds-disabled", EnvVars: []string{"DSTACK_DEFAULT_CREDS_DISABLED"}, Usage: "refuse backends with default cloud credentials"},
			&cli.IntFlag{Name: "job-network-mode", Value: 2, EnvVars: []string{"DSTACK_SERVER_JOB_NETWORK_MODE"}, Usage: "1: bridge unless multi-node, 2: host for whole instances, 3: always bridge"},
			&cli.IntFlag{Name: "metrics-running-ttl-seconds", Value: 3600, EnvVars: []string{"DSTACK_SERVER_METRICS_RUNNING_TTL_SECONDS"}, Usage: "keep a running job's resource usage samples this long"},
			&cli.IntFlag{Name: "metrics-finished-ttl-seconds", Value: 7 * 24 * 3600, EnvVars: []string{"DSTACK_SERVER_METRICS_FINISHED_TTL_SECONDS"}, Usage: "keep a finished job's resource usage samples this long"},
			&cli.Int64Flag{Name: "code-upload-limit", Value: 2 << 20, EnvVars: []string{"DSTACK_SERVER_CODE_UPLOAD_LIMIT"}, Usage: "largest code or files upload in bytes (0: no limit)"},
			&cli.IntFlag{Name: "console-ssh-port", EnvVars: []string{"DSTACK_SERVER_CONSOLE_SSH_PORT"}, Usage: "serve the console over SSH on this port (users log in with their registered SSH keys)"},
			&cli.StringFlag{Name: "litestream-replica-url", EnvVars: []string{"LITESTREAM_REPLICA_URL"}, Usage: "replicate the SQLite database continuously to s3://, gcs://, abs:// or file:// and restore it from there when absent"},
			&cli.BoolFlag{Name: "enable-prometheus-metrics", Usage: "serve Prometheus metrics at /metrics (or set DSTACK_ENABLE_PROMETHEUS_METRICS)"},
			&cli.StringFlag{Name: "prometheus-auth-token", EnvVars: []string{"DSTACK_PROMETHEUS_AUTH_TOKEN"}, Usage: "require this bearer token on /metrics"},
			&cli.BoolFlag{Name: "no-default", EnvVars: []string{"DSTACK_DO_NOT_UPDATE_DEFAULT_PROJECT"}, Usage: "leave ~/.dstack/config.yml alone"},
		},
		Subcommands: []*cli.Command{migrateDBCommand()},
		Action:      func(c *cli.Context) error { return runServer(c, b) },
	}
}

func runServer(c *cli.Context, b Build) error {
	log, err := newLogger(c.App.ErrWriter, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return usageError("%v", err)
	}
	dir, err := serverDir(c.String("dir"))
	if err != nil {
		return err
	}
	var ttls [2]time.Duration
	for i, name := range []string{"metrics-running-ttl-seconds", "metrics-finished-ttl-seconds"} {
		v := c.Int(name)
		if v <= 0 {
			return usageError("--%s (DSTACK_SERVER_%s): %d is not a number of seconds above 0", name,
				strings.ToUpper(strings.ReplaceAll(name, "-", "_")), v)
		}
		ttls[i] = time.Duration(v) * time.Second
	}
	out := c.App.Writer
	srv, err := server.New(c.Context, server.Options{
		Version: b.Version, Dir: dir, DatabaseURL: c.String("database-url"), Host: c.String("host"), Port: c.Int("port"),
		URL: c.String("url"), AdminToken: c.String("token"), ConfigDisabled: c.Bool("config-disabled"),
		ProjectQuota: c.Int("project-quota"), DBPoolSize: c.Int("db-pool-size"), Logger: log,
		BackgroundDisabled: c.Bool("background-disabled"), AgentBinary: c.String("agent-binary"),
		AgentReleaseURL: c.String("agent-release-url"),
		CloudWatchGroup: c.String("cloudwatch-log-group"), CloudWatchRegion: c.String("cloudwatch-log-region"),
		CloudWatchEndpoint: c.String("cloudwatch-endpoint"), JobNetworkMode: c.Int("job-network-mode"),
		CatalogURL: c.String("catalog-url"), DefaultCredsDisabled: c.Bool("default-creds-disabled"),
		CodeUploadLimit: c.Int64("code-upload-limit"), ConsoleSSHPort: c.Int("console-ssh-port"),
		LitestreamURL:     c.String("litestream-replica-url"),
		MetricsRunningTTL: ttls[0], MetricsFinishedTTL: ttls[1],
		Metrics:      c.Bool("enable-prometheus-metrics") || envSwitch("DSTACK_ENABLE_PROMETHEUS_METRICS"),
		MetricsToken: c.String("prometheus-auth-token"),
		Announce:     func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if !c.Bool("no-default") && srv.AdminToken != "" {
		if err := updateDefaultProject(out, srv.URL(), srv.AdminToken, c.Bool("yes")); err != nil {
			log.Warn("could not update the client config", "err", err)
		}
	}
	return srv.Run(c.Context)
}

// envSwitch reports whether a switch variable is set: as upstream, any
// value turns it on, except an explicit 0, false, no or off.
func envSwitch(name string) bool {
	v, ok := os.LookupEnv(name)
	if !ok {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

// updateDefaultProject points project main of ~/.dstack/config.yml at this
// server, so the CLI works right away. An entry for another server (other
// URL and token) is only replaced with --yes; the same server on a new
// address is followed.
func updateDefaultProject(out io.Writer, url, token string, force bool) error {
	cfg, err := loadClientConfig()
	if err != nil {
		return err
	}
	if p := cfg.project("main"); p != nil && p.URL == url && p.Token == token {
		return nil
	} else if p != nil && p.URL != url && p.Token != token && !force {
		fmt.Fprintf(out, "Project main in %s points at %s; run with --yes to point it at this server\n", cfg.path, p.URL)
		return nil
	}
	cfg.upsert(clientProject{Name: "main", URL: url, Token: token}, cfg.project("") == nil)
	return cfg.save()
}

// newLogger builds the server's slog logger: text by default, JSON when
// asked, at the upstream level names.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	switch strings.ToUpper(level) {
	case "DEBUG":
		lv = slog.LevelDebug
	case "INFO", "":
		lv = slog.LevelInfo
	case "WARNING", "WARN":
		lv = slog.LevelWarn
	case "ERROR", "CRITICAL":
		lv = slog.LevelError
	default:
		return nil, fmt.Errorf("log level %q is not one of DEBUG, INFO, WARNING, ERROR", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "standard", "rich", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q is not one of standard, rich, json", format)
	}
}
