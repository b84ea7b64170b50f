package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// WithProxy publishes services at /proxy/services/… through services (the
// in-server service proxy) and their models at /proxy/models/… through
// models.
func (r *Router) WithProxy(services, models http.Handler) *Router {
	r.engine.Any("/proxy/services/*path", gin.WrapH(services))
	r.engine.Any("/proxy/models/*path", gin.WrapH(models))
	return r
}
