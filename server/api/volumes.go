package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) volumeRoutes(g *gin.RouterGroup) {
	volumes := services.Volumes{Env: r.env}
	g.POST("/volumes/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListVolumesRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return volumes.List(c.Request.Context(), actor(c), req)
	}))
	p := g.Group("/project/:project_name/volumes")
	p.POST("/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		return volumes.ListProject(c.Request.Context(), access(c).Project)
	}))
	p.POST("/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetVolumeRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return volumes.Get(c.Request.Context(), access(c).Project, req.Name)
	}))
	p.POST("/create", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.CreateVolumeRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return volumes.Create(c.Request.Context(), access(c).Project, req)
	}))
	p.POST("/delete", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.DeleteVolumesRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, volumes.Delete(c.Request.Context(), access(c).Project, req.Names)
	}))
}
