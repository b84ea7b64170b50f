package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// exportRoutes serves exports (the exporting project's admins change them,
// members see them) and imports (the importing project's side).
func (r *Router) exportRoutes(g *gin.RouterGroup) {
	exports := services.Exports{Env: r.env}
	imports := services.Imports{Env: r.env}
	p := g.Group("/project/:project_name")
	p.POST("/exports/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		return exports.List(c.Request.Context(), access(c).Project)
	}))
	p.POST("/exports/create", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.CreateExportRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return exports.Create(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/exports/update", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.UpdateExportRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return exports.Update(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/exports/delete", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.DeleteExportRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, exports.Delete(c.Request.Context(), access(c).Project, req.Name)
	}))
	p.POST("/imports/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		return imports.List(c.Request.Context(), access(c).Project)
	}))
	p.POST("/imports/delete", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.DeleteImportRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, imports.Delete(c.Request.Context(), access(c).Project, req.ExportProjectName, req.ExportName)
	}))
}
