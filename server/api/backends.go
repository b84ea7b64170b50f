package api

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// backendRoutes are upstream's backends router: the types the server can
// configure, and a project's backends for its admins.
func (r *Router) backendRoutes(g *gin.RouterGroup) {
	svc := services.Backends{Env: r.env}
	g.POST("/backends/list_types", r.wrap(func(c *gin.Context) (any, error) { return svc.ListTypes(), nil }))
	p := g.Group("/project/:project_name/backends")
	p.POST("/create", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		raw, err := rawBody(c)
		if err != nil {
			return nil, err
		}
		return svc.Create(c.Request.Context(), access(c).Project, raw)
	}))
	p.POST("/update", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		raw, err := rawBody(c)
		if err != nil {
			return nil, err
		}
		return svc.Update(c.Request.Context(), access(c).Project, raw)
	}))
	p.POST("/delete", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.DeleteBackendsRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, svc.Delete(c.Request.Context(), access(c).Project, req.BackendsNames)
	}))
	p.POST("/:backend_name/config_info", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		return svc.ConfigInfo(c.Request.Context(), access(c).Project, c.Param("backend_name"))
	}))
	p.POST("/create_yaml", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.BackendYAMLRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, svc.CreateYAML(c.Request.Context(), access(c).Project, req.ConfigYAML)
	}))
	p.POST("/update_yaml", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		var req schemas.BackendYAMLRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, svc.UpdateYAML(c.Request.Context(), access(c).Project, req.ConfigYAML)
	}))
	p.POST("/:backend_name/get_yaml", r.project(ProjectAdmin, func(c *gin.Context) (any, error) {
		return svc.GetYAML(c.Request.Context(), access(c).Project, c.Param("backend_name"))
	}))
}

// rawBody is the request's JSON object, kept as sent.
func rawBody(c *gin.Context) (json.RawMessage, error) {
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		return nil, &validationError{Loc: []any{"body"}, Msg: "Request body is too large or unreadable: " + err.Error(), Typ: "value_error"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, &validationError{Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from", Typ: "model_attributes_type"}
	}
	return data, nil
}
