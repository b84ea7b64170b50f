package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) gatewayRoutes(g *gin.RouterGroup) {
	gateways := services.Gateways{Env: r.env}
	p := g.Group("/project/:project_name/gateways")
	p.POST("/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.ListGatewaysRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return gateways.List(c.Request.Context(), access(c).Project, req.IncludeImported)
	}))
	p.POST("/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetGatewayRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return gateways.Get(c.Request.Context(), access(c).Project, req.Name)
	}))
	p.POST("/create", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.CreateGatewayRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return gateways.Create(c.Request.Context(), access(c).Project, req.Configuration)
	}))
	// dstack apply of a gateway configuration asks for a plan first; both
	// steps get create's refusal.
	p.POST("/get_plan", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.GetGatewayPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return gateways.Create(c.Request.Context(), access(c).Project, req.Spec.Configuration)
	}))
	p.POST("/apply", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.ApplyGatewayPlanRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return gateways.Create(c.Request.Context(), access(c).Project, req.Plan.Spec.Configuration)
	}))
	p.POST("/delete", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.DeleteGatewaysRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, gateways.Delete(c.Request.Context(), access(c).Project, req.Names)
	}))
	p.POST("/set_default", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.SetDefaultGatewayRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, gateways.SetDefault(c.Request.Context(), access(c).Project, req.Name, req.GatewayProject)
	}))
	p.POST("/set_wildcard_domain", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.SetWildcardDomainRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return gateways.SetWildcardDomain(c.Request.Context(), access(c).Project, req.Name, req.WildcardDomain)
	}))
}
