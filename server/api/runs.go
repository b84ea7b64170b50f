package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) runRoutes(g *gin.RouterGroup) {
	runs := services.Runs{Env: r.env}
	logs := services.Logs{Env: r.env}
	g.POST("/runs/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListRunsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return runs.List(c.Request.Context(), actor(c), req)
	}))
	p := g.Group("/project/:project_name")
	p.POST("/runs/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetRunRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return runs.Get(c.Request.Context(), access(c).Project, req)
	}))
	p.POST("/services/stats", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		return runs.ServiceStats(c.Request.Context(), access(c).Project)
	}))
	p.POST("/runs/get_plan", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetRunPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return runs.GetPlan(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/runs/apply", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.ApplyRunPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return runs.Apply(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/runs/stop", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.StopRunsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, runs.Stop(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.RunsNames, req.Abort)
	}))
	p.POST("/runs/delete", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.DeleteRunsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, runs.Delete(c.Request.Context(), services.UserActor(actor(c)), access(c).Project, req.RunsNames)
	}))
	p.POST("/gpus/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.ListGpusRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return runs.ListGpus(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/logs/poll", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.PollLogsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return logs.Poll(c.Request.Context(), access(c).Project, req)
	}))
}
