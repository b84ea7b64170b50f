package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/replica"
	"github.com/dstackgo/dstack/server/api"
	"github.com/dstackgo/dstack/server/metrics"
	"github.com/dstackgo/dstack/server/proxy"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// prepareReplica checks the Litestream replica and restores a missing
// SQLite database from it; nil when none is configured.
func prepareReplica(ctx context.Context, o Options, target db.Target) (*replica.Replica, error) {
	if o.LitestreamURL == "" {
		return nil, nil
	}
	if target.Dialect != db.SQLite {
		return nil, errors.New("LITESTREAM_REPLICA_URL replicates the SQLite database; with DSTACK_DATABASE_URL (PostgreSQL) unset it and back up PostgreSQL itself")
	}
	r, err := replica.Prepare(ctx, replica.Options{URL: o.LitestreamURL, Path: target.Path,
		SyncInterval: o.LitestreamSyncInterval, Logger: o.Logger.With("component", "litestream")})
	if err != nil {
		return nil, err
	}
	if r.Restored() {
		o.Announce("Restored the database from %s", r.URL())
	}
	return r, nil
}

// replicationStatus is the replica's state for the status route.
func (s *Server) replicationStatus() *schemas.ReplicationStatus {
	if s.replica == nil {
		return nil
	}
	st := s.replica.Status()
	return &schemas.ReplicationStatus{URL: st.URL, LocalTXID: st.LocalTXID, ReplicaTXID: st.ReplicaTXID,
		LagSeconds: st.LagSeconds, Restored: st.Restored, Error: st.Error}
}

// handler is the HTTP API, with /metrics in front when enabled.
func (s *Server) handler(status *services.Status) http.Handler {
	log := s.log.With("component", "api")
	if !s.opts.Metrics {
		s.pool = s.newPool()
		svc := s.serviceProxy()
		return api.New(s.env, log).WithStatus(status).WithAgent(s.binaries).WithProxy(svc, proxy.Models{Proxy: svc})
	}
	s.metrics = metrics.New(metrics.Sources{DB: s.db, Status: status.Get, AuthToken: s.opts.MetricsToken})
	s.pool = s.newPool()
	svc := s.serviceProxy()
	router := api.New(s.env, log, []gin.HandlerFunc{s.metrics.Middleware()}...).WithStatus(status).WithAgent(s.binaries).
		WithProxy(svc, proxy.Models{Proxy: svc})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("/", router)
	return mux
}
