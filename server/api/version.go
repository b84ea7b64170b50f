package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
)

var versionRe = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)[-_.]?\d*)*)(?:\+[a-z0-9.]+)?$`)

type version struct{ major, minor, patch int }

func parseVersion(s string) (version, bool) {
	m := versionRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return version{}, false
	}
	n := func(x string) int { v, _ := strconv.Atoi(x); return v }
	return version{n(m[1]), n(m[2]), n(m[3])}, true
}

func (v version) less(o version) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	return v.patch < o.patch
}

// checkClientVersion applies upstream's rule to X-API-VERSION: older clients
// and newer patch releases are accepted, newer minor or major ones are not;
// no header, "latest" and 0.0.0 dev builds skip the check.
func checkClientVersion(c *gin.Context) {
	raw := c.GetHeader("X-API-VERSION")
	if raw == "" || raw == "latest" || strings.HasPrefix(raw, "0.0.0") {
		c.Next()
		return
	}
	client, ok := parseVersion(raw)
	if !ok {
		writeJSON(c, http.StatusBadRequest, schemas.ErrorList{Detail: []schemas.ErrorDetail{{Msg: fmt.Sprintf("Invalid version: '%s'", raw)}}})
		c.Abort()
		return
	}
	server, _ := parseVersion(schemas.CompatibleVersion)
	if server.less(client) && (client.major > server.major || client.minor > server.minor) {
		code := schemas.ErrorCodeError
		writeJSON(c, http.StatusBadRequest, schemas.ErrorList{Detail: []schemas.ErrorDetail{{
			Msg:  fmt.Sprintf("The client/CLI version (%s) is incompatible with the server version (%s).", raw, schemas.CompatibleVersion),
			Code: &code,
		}}})
		c.Abort()
		return
	}
	c.Next()
}
