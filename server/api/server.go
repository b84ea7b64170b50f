package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) serverRoutes(g *gin.RouterGroup) {
	g.POST("/server/get_info", r.wrap(func(*gin.Context) (any, error) {
		v := schemas.CompatibleVersion
		return schemas.ServerInfo{ServerVersion: &v}, nil
	}))
	g.POST("/admin/server/status", r.admin(func(c *gin.Context) (any, error) {
		if r.status == nil {
			return nil, services.NotFound("Server status is not available")
		}
		return r.status.Get(c.Request.Context())
	}))
	// No OAuth providers are configured: the list is empty, as upstream's
	// without SSO.
	g.POST("/auth/list_providers", r.wrap(func(*gin.Context) (any, error) { return []any{}, nil }))
}
