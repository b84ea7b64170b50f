package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/server/services"
)

// WithAgent serves bin (this server's Linux binary) to cloud instances at
// GET /api/agent/download?os=linux&arch=…, for the bearer token their user
// data carries.
func (r *Router) WithAgent(bin *sshfleet.Binary) *Router {
	r.engine.GET("/api/agent/download", func(c *gin.Context) {
		_, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		if _, err := services.AgentDownloadAllowed(c.Request.Context(), r.env, strings.TrimSpace(token)); err != nil {
			respond(r.log, c, nil, err)
			return
		}
		goos, arch := c.Query("os"), c.Query("arch")
		if goos == "" {
			goos = "linux"
		}
		switch {
		case bin == nil:
			respond(r.log, c, nil, services.Invalid("This server has no Linux dstack binary to serve (run a Linux build of the server, or set DSTACK_SERVER_AGENT_BINARY)"))
		case goos != "linux" || arch != bin.Arch():
			respond(r.log, c, nil, services.NotFound("This server serves the dstack agent for linux/%s only, not %s/%s", bin.Arch(), goos, arch))
		default:
			c.Header("Content-Disposition", `attachment; filename="dstack"`)
			c.Header("X-Dstack-Sha256", bin.SHA256())
			http.ServeContent(c.Writer, c.Request, "dstack", time.Time{}, bin.Reader())
		}
	})
	return r
}
