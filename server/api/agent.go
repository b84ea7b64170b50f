package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/server/services"
)

// WithAgent serves the Linux dstack binary of the asked architecture (from
// src: this server's own, a configured one or the release download) to
// cloud instances at GET /api/agent/download?os=linux&arch=…, for the
// bearer token their user data carries.
func (r *Router) WithAgent(src sshfleet.BinarySource) *Router {
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
		var bin *sshfleet.Binary
		var err error
		switch {
		case src == nil:
			err = services.Invalid("This server has no Linux dstack binary to serve (set DSTACK_SERVER_AGENT_BINARY)")
		case goos != "linux" || (arch != "amd64" && arch != "arm64"):
			err = services.NotFound("This server serves the dstack agent for linux/amd64 and linux/arm64, not %s/%s", goos, arch)
		default:
			if bin, err = src.Binary(c.Request.Context(), arch); err != nil {
				err = services.NotFound("%s", err.Error())
			}
		}
		if err != nil {
			respond(r.log, c, nil, err)
			return
		}
		{
			c.Header("Content-Disposition", `attachment; filename="dstack"`)
			c.Header("X-Dstack-Sha256", bin.SHA256())
			http.ServeContent(c.Writer, c.Request, "dstack", time.Time{}, bin.Reader())
		}
	})
	return r
}
