package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Guard decides whether the acting user may use a project route; the names
// follow upstream's dependency classes.
type Guard func(a *services.Access) bool

// Project guards.
var (
	ProjectMember = func(a *services.Access) bool { return a.GlobalAdmin || a.Role != "" }
	// ProjectMemberOrPublic also admits anyone to a public project.
	ProjectMemberOrPublic = func(a *services.Access) bool { return ProjectMember(a) || a.Project.IsPublic }
	ProjectManager        = func(a *services.Access) bool {
		return a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin || a.Role == schemas.ProjectRoleManager
	}
	// ProjectManagerOrPublic lets anyone join a public project.
	ProjectManagerOrPublic = func(a *services.Access) bool { return ProjectManager(a) || a.Project.IsPublic }
	ProjectAdmin           = func(a *services.Access) bool { return a.GlobalAdmin || a.Role == schemas.ProjectRoleAdmin }
)

const (
	keyUser   = "dstack.user"
	keyAccess = "dstack.access"
)

// authenticate resolves the bearer token into the acting user.
func (r *Router) authenticate(c *gin.Context) (*db.User, error) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return nil, &services.Error{Kind: services.KindNotAuthenticated, Msg: "Not authenticated"}
	}
	u, err := r.users.Authenticate(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	c.Set(keyUser, u)
	return u, nil
}

// authed wraps a route that needs any valid user.
func (r *Router) authed(h HandlerFunc) gin.HandlerFunc {
	return r.wrap(func(c *gin.Context) (any, error) {
		if _, err := r.authenticate(c); err != nil {
			return nil, err
		}
		return h(c)
	})
}

// admin wraps a route for global admins.
func (r *Router) admin(h HandlerFunc) gin.HandlerFunc {
	return r.wrap(func(c *gin.Context) (any, error) {
		u, err := r.authenticate(c)
		if err != nil {
			return nil, err
		}
		if u.GlobalRole != string(schemas.GlobalRoleAdmin) {
			return nil, services.Forbidden()
		}
		return h(c)
	})
}

// project wraps a /{project_name}/ route: it resolves the project (404 when
// missing) and applies the guard (403 when refused).
func (r *Router) project(g Guard, h HandlerFunc) gin.HandlerFunc {
	return r.wrap(func(c *gin.Context) (any, error) {
		u, err := r.authenticate(c)
		if err != nil {
			return nil, err
		}
		a, err := r.projects.Resolve(c.Request.Context(), u, c.Param("project_name"))
		if err != nil {
			return nil, err
		}
		if !g(a) {
			return nil, services.Forbidden()
		}
		c.Set(keyAccess, a)
		return h(c)
	})
}

// wrap adapts a HandlerFunc to gin through the one error adapter.
func (r *Router) wrap(h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := h(c)
		respond(r.log, c, body, err)
	}
}

func actor(c *gin.Context) *db.User {
	v, _ := c.Get(keyUser)
	u, _ := v.(*db.User)
	return u
}

func access(c *gin.Context) *services.Access {
	v, _ := c.Get(keyAccess)
	a, _ := v.(*services.Access)
	return a
}
