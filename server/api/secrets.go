package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) secretRoutes(g *gin.RouterGroup) {
	p := g.Group("/project/:project_name/secrets")
	p.POST("/list", r.project(r.canManageSecrets, func(c *gin.Context) (any, error) {
		return r.secrets.List(c.Request.Context(), access(c).Project)
	}))
	p.POST("/get", r.project(r.canManageSecrets, func(c *gin.Context) (any, error) {
		var req schemas.GetSecretRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return r.secrets.Get(c.Request.Context(), access(c).Project, req.Name)
	}))
	p.POST("/create_or_update", r.project(r.canManageSecrets, func(c *gin.Context) (any, error) {
		var req schemas.CreateOrUpdateSecretRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return r.secrets.Set(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.Name, req.Value)
	}))
	p.POST("/delete", r.project(r.canManageSecrets, func(c *gin.Context) (any, error) {
		var req schemas.DeleteSecretsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, r.secrets.Delete(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.SecretsNames)
	}))
}

// canManageSecrets is ProjectManager plus the can_manage_secrets rule.
func (r *Router) canManageSecrets(a *services.Access) bool {
	return ProjectManager(a) && r.secrets.CanManage(a)
}
