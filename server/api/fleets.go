package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) fleetRoutes(g *gin.RouterGroup) {
	fleets := services.Fleets{Env: r.env}
	instances := services.Instances{Env: r.env}
	g.POST("/fleets/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListFleetsRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return fleets.ListAll(c.Request.Context(), actor(c), req)
	}))
	g.POST("/instances/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListInstancesRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return instances.List(c.Request.Context(), actor(c), req)
	}))
	p := g.Group("/project/:project_name")
	p.POST("/instances/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetInstanceRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return instances.Get(c.Request.Context(), access(c).Project, req.ID)
	}))
	p.POST("/fleets/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.ListProjectFleetsRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return fleets.List(c.Request.Context(), access(c).Project, req.IncludeImported)
	}))
	p.POST("/fleets/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetFleetRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		f, err := fleets.Get(c.Request.Context(), access(c).Project, req)
		if err != nil {
			return nil, err
		}
		return fleets.Schema(c.Request.Context(), access(c).Project, f)
	}))
	manage := func(a *services.Access) bool { return ProjectMember(a) && fleets.CanManageSSHFleets(a) }
	p.POST("/fleets/get_plan", r.project(manage, func(c *gin.Context) (any, error) {
		var req schemas.GetFleetPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return fleets.GetPlan(c.Request.Context(), actor(c), access(c).Project, req.Spec)
	}))
	p.POST("/fleets/apply", r.project(manage, func(c *gin.Context) (any, error) {
		var req schemas.ApplyFleetPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return fleets.Apply(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/fleets/delete", r.project(manage, func(c *gin.Context) (any, error) {
		var req schemas.DeleteFleetsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, fleets.Delete(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.Names)
	}))
	p.POST("/fleets/delete_instances", r.project(manage, func(c *gin.Context) (any, error) {
		var req schemas.DeleteFleetInstancesRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, fleets.DeleteInstances(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.Name, req.InstanceNums)
	}))
}
