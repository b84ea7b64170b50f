package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/dstackgo/dstack/backends/agent/dist"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/background"
	"github.com/dstackgo/dstack/server/proxy"
	"github.com/dstackgo/dstack/server/services"
)

// startBackground builds the pipelines and lets the services wake them.
func (s *Server) startBackground() {
	log := s.log.With("component", "background")
	bopts := background.Options{Replica: s.opts.Replica}
	if bopts.Replica == "" {
		bopts.Replica = uuid.NewString()[:8]
	}
	if s.metrics != nil {
		bopts.OnClaim = s.metrics.Claimed
	}
	s.supervisor = background.New(s.db, log, bopts,
		&background.Instances{Env: s.env, Pool: s.pool, HostKeys: background.HostKeys{DB: s.db}, Binaries: s.binaries, Log: log.With("component", "background.instances"),
			DeployTimeout: s.opts.DeployTimeout,
			Cloud:         background.CloudOptions{ServerURL: s.URL(), ProvisioningTimeout: s.opts.InstanceProvisioningTimeout, AgentGrace: s.opts.AgentGrace}},
		&background.CloudFleets{Env: s.env, Log: log.With("component", "background.cloud_fleets")},
		&background.Fleets{Env: s.env, Log: log.With("component", "background.fleets")},
		&background.JobsSubmitted{Env: s.env, Log: log.With("component", "background.jobs_submitted"), NetworkMode: s.opts.JobNetworkMode},
		&background.JobsRunning{Env: s.env, Pool: s.pool, Log: log.With("component", "background.jobs_running"),
			NetworkMode: s.opts.JobNetworkMode},
		&background.JobsTerminating{Env: s.env, Pool: s.pool, Log: log.With("component", "background.jobs_terminating")},
		&background.Probes{Env: s.env, Pool: s.pool, Log: log.With("component", "background.probes")},
		&background.Runs{Env: s.env, Log: log.With("component", "background.runs"), ResubmitAfter: s.opts.ResubmitAfter},
	)
	s.notifier = &background.Notifier{DB: s.db, Sup: s.supervisor, Log: log, Woken: s.proxy.Woken}
	s.env.Wake = s.notifier.Wake
}

// runEventsTTL deletes events past their retention.
func (s *Server) runEventsTTL(ctx context.Context) {
	(&background.EventsTTL{Env: s.env, Log: s.log.With("component", "background.events_ttl"), TTL: s.opts.EventsTTL}).Run(ctx)
}

// runJobMetrics samples running jobs' resource usage and prunes old samples.
func (s *Server) runJobMetrics(ctx context.Context) {
	(&background.JobMetrics{Env: s.env, Pool: s.pool, Log: s.log.With("component", "background.job_metrics"),
		RunningTTL: s.opts.MetricsRunningTTL, FinishedTTL: s.opts.MetricsFinishedTTL}).Run(ctx)
}

// newPool is the server's one pool of SSH connections to hosts: the
// pipelines and the service proxy share it.
func (s *Server) newPool() *sshfleet.Pool {
	popts := sshfleet.PoolOptions{HostKeys: background.HostKeys{DB: s.db}, Logger: s.log.With("component", "ssh"), Dial: s.opts.SSHDial}
	if s.metrics != nil {
		popts.Observer = s.metrics
	}
	return sshfleet.NewPool(popts)
}

// serviceProxy serves services through the SSH pool.
func (s *Server) serviceProxy() *proxy.Proxy {
	s.proxy = proxy.New(services.ServiceRoutes{Env: s.env}, s.pool, s.log.With("component", "proxy"))
	return s.proxy
}

// agentBinaries finds the Linux dstack binaries deployed to hosts and
// served to cloud instances, per architecture.
func agentBinaries(o Options) *sshfleet.Binaries {
	locator := dist.New(dist.Options{Version: o.Version, Configured: o.AgentBinary,
		CacheDir: filepath.Join(o.Dir, "bin"), ReleaseURL: o.AgentReleaseURL})
	return &sshfleet.Binaries{Locate: locator.Path}
}

// openLogStore opens CloudWatch Logs when configured, else files under
// <server dir>/projects.
func openLogStore(ctx context.Context, o Options) (logstore.Store, error) {
	if o.CloudWatchGroup == "" && o.CloudWatchRegion == "" {
		return logstore.NewFile(filepath.Join(o.Dir, "projects")), nil
	}
	if o.CloudWatchGroup == "" || o.CloudWatchRegion == "" {
		return nil, fmt.Errorf("CloudWatch log storage needs both DSTACK_SERVER_CLOUDWATCH_LOG_GROUP and DSTACK_SERVER_CLOUDWATCH_LOG_REGION")
	}
	cw, err := logstore.NewCloudWatch(ctx, logstore.CloudWatchConfig{Group: o.CloudWatchGroup, Region: o.CloudWatchRegion,
		Endpoint: o.CloudWatchEndpoint, Logger: o.Logger.With("component", "logstore")})
	if err != nil {
		return nil, fmt.Errorf("log storage: %w", err)
	}
	return cw, nil
}

// closeAgents closes the SSH pool and the deployed binary.
func (s *Server) closeAgents() {
	if s.pool != nil {
		_ = s.pool.Close()
		s.pool = nil
	}
	if s.binaries != nil {
		_ = s.binaries.Close()
		s.binaries = nil
	}
}
