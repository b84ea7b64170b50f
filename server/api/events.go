package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// eventRoutes is upstream's /api/events router: any user lists the events
// they may see (services.Events.List decides which).
func (r *Router) eventRoutes(g *gin.RouterGroup) {
	events := services.Events{Env: r.env}
	g.POST("/events/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListEventsRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return events.List(c.Request.Context(), actor(c), req)
	}))
}
