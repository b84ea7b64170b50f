package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/services"
)

// Router is the server's HTTP API.
type Router struct {
	engine     *gin.Engine
	log        *slog.Logger
	env        *services.Env
	status     *services.Status
	users      services.Users
	projects   services.Projects
	secrets    services.Secrets
	publicKeys services.PublicKeys
}

// New builds the router over the services' environment; middleware runs
// around every route (request metrics).
func New(env *services.Env, log *slog.Logger, middleware ...gin.HandlerFunc) *Router {
	gin.SetMode(gin.ReleaseMode)
	r := &Router{
		engine: gin.New(), log: log, env: env,
		users: services.Users{Env: env}, projects: services.Projects{Env: env},
		secrets: services.Secrets{Env: env}, publicKeys: services.PublicKeys{Env: env},
	}
	r.engine.HandleMethodNotAllowed = true
	r.engine.Use(r.recoverer, r.accessLog)
	r.engine.Use(middleware...)
	r.engine.NoRoute(func(c *gin.Context) { writeJSON(c, http.StatusNotFound, gin.H{"detail": "Not Found"}) })
	r.engine.NoMethod(func(c *gin.Context) { writeJSON(c, http.StatusMethodNotAllowed, gin.H{"detail": "Method Not Allowed"}) })
	r.engine.GET("/healthcheck", func(c *gin.Context) { writeJSON(c, http.StatusOK, gin.H{"status": "running"}) })

	api := r.engine.Group("/api", checkClientVersion)
	r.serverRoutes(api)
	r.userRoutes(api)
	r.projectRoutes(api)
	r.secretRoutes(api)
	r.encryptionRoutes(api)
	r.fleetRoutes(api)
	r.runRoutes(api)
	r.repoRoutes(api)
	r.backendRoutes(api)
	r.volumeRoutes(api)
	r.gatewayRoutes(api)
	r.exportRoutes(api)
	r.eventRoutes(api)
	r.metricsRoutes(api)
	return r
}

// WithStatus enables the admin server status route.
func (r *Router) WithStatus(s *services.Status) *Router {
	r.status = s
	return r
}

// ServeHTTP serves the API.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.engine.ServeHTTP(w, req) }

// recoverer turns a panic in a handler into a logged 500.
func (r *Router) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("handler panicked", "path", c.Request.URL.Path, "panic", v)
			writeJSON(c, http.StatusInternalServerError, gin.H{"detail": "Internal Server Error"})
			c.Abort()
		}
	}()
	c.Next()
}

// accessLog logs each request at debug level.
func (r *Router) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	r.log.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "dur", time.Since(start))
}
