package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dstackgo/dstack/backends"
	awsbackend "github.com/dstackgo/dstack/backends/aws"
	"github.com/dstackgo/dstack/backends/catalog"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/background"
	"github.com/dstackgo/dstack/server/config"
	"github.com/dstackgo/dstack/server/services"
)

// newClouds builds the offers catalog and the backend types this server
// configures.
func newClouds(o Options, log *slog.Logger) (*catalog.Catalog, *services.Clouds) {
	cat := catalog.New(catalog.Options{URL: o.CatalogURL, Logger: log.With("component", "catalog")})
	reg := backends.NewRegistry(awsbackend.NewConfigurator(cat, awsbackend.Options{Endpoint: o.AWSEndpoint,
		DefaultCredsDisabled: o.DefaultCredsDisabled}))
	return cat, services.NewClouds(reg)
}

// applyBackends makes each config.yml project's backends those the file
// lists. A backend the cloud refuses stops the start with the file, the
// line and the cloud's reason.
func applyBackends(ctx context.Context, env *services.Env, cfg *config.File, path string) error {
	for pi := range cfg.Projects {
		pc := &cfg.Projects[pi]
		p, err := db.GetProjectByName(ctx, env.DB, pc.Name)
		if err != nil {
			return fmt.Errorf("%s: project %s: %w", path, pc.Name, err)
		}
		list := make([]services.ConfigBackend, len(pc.Backends))
		for i := range pc.Backends {
			raw, err := pc.Backends[i].JSON()
			if err != nil {
				return fmt.Errorf("%s:%d: %w", path, pc.Backends[i].Line, err)
			}
			list[i] = services.ConfigBackend{Type: pc.Backends[i].Type, JSON: raw}
		}
		err = (services.Backends{Env: env}).ApplyConfig(ctx, p, list)
		var be *services.ConfigBackendError
		if errors.As(err, &be) {
			b := &pc.Backends[be.Index]
			where := fmt.Sprintf("projects[%d].backends[%d]", pi, be.Index)
			if len(be.Path) > 0 {
				where += "." + strings.Join(be.Path, ".")
			}
			return fmt.Errorf("%s:%d: %s (%s backend of project %s): %s", path, b.LineOf(be.Path), where, b.Type, pc.Name, be.Err)
		}
		if err != nil {
			return fmt.Errorf("%s: backends of project %s: %w", path, pc.Name, err)
		}
	}
	return nil
}

// runSweeper terminates cloud instances without a live record.
func (s *Server) runSweeper(ctx context.Context) {
	(&background.Sweeper{Env: s.env, Log: s.log.With("component", "background.sweep"), Every: s.opts.SweepInterval}).Run(ctx)
}

// runCatalog keeps the offers catalog of the backend types in use fresh.
func (s *Server) runCatalog(ctx context.Context) {
	inUse := func() []string {
		types, err := (services.Backends{Env: s.env}).TypesInUse(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("list the backend types in use", "err", err)
		}
		return types
	}
	s.catalog.Run(ctx, inUse, catalog.RefreshInterval)
}
