package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) projectRoutes(g *gin.RouterGroup) {
	g.POST("/projects/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListProjectsRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return r.projects.List(c.Request.Context(), actor(c), req)
	}))
	g.POST("/projects/create", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.CreateProjectRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		p, err := r.projects.Create(c.Request.Context(), actor(c), req)
		if err != nil {
			return nil, err
		}
		return r.projects.Schema(c.Request.Context(), p, true)
	}))
	g.POST("/projects/delete", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.DeleteProjectsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, r.projects.Delete(c.Request.Context(), actor(c), req.ProjectsNames)
	}))
	p := g.Group("/projects/:project_name")
	p.POST("/get", r.project(ProjectMemberOrPublic, r.projectGet))
	p.POST("/update", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.UpdateProjectRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		if err := r.projects.Update(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req); err != nil {
			return nil, err
		}
		return r.projectGet(c)
	}))
	p.POST("/set_members", r.project(ProjectManager, func(c *gin.Context) (any, error) {
		var req schemas.SetProjectMembersRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		if err := r.projects.SetMembers(c.Request.Context(), access(c), req.Members); err != nil {
			return nil, err
		}
		return r.projectGet(c)
	}))
	p.POST("/add_members", r.project(ProjectManagerOrPublic, func(c *gin.Context) (any, error) {
		var req schemas.SetProjectMembersRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		if err := r.projects.AddMembers(c.Request.Context(), actor(c), access(c), req.Members); err != nil {
			return nil, err
		}
		return r.projectGet(c)
	}))
	p.POST("/remove_members", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.RemoveProjectMembersRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		if err := r.projects.RemoveMembers(c.Request.Context(), actor(c), access(c), req.Usernames); err != nil {
			return nil, err
		}
		return r.projectGet(c)
	}))
}

func (r *Router) projectGet(c *gin.Context) (any, error) {
	return r.projects.Schema(c.Request.Context(), access(c).Project, true)
}
