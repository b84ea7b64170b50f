package api

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) repoRoutes(g *gin.RouterGroup) {
	repos := services.Repos{Env: r.env}
	p := g.Group("/project/:project_name/repos")
	p.POST("/list", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		return repos.List(c.Request.Context(), access(c).Project)
	}))
	p.POST("/get", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.GetRepoRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return repos.Get(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/init", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.InitRepoRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, repos.Init(c.Request.Context(), actor(c), access(c).Project, req)
	}))
	p.POST("/delete", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		var req schemas.DeleteReposRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, repos.Delete(c.Request.Context(), access(c).Project, req.ReposIDs)
	}))
	p.POST("/upload_code", r.project(ProjectMember, func(c *gin.Context) (any, error) {
		hash, blob, err := r.upload(c)
		if err != nil {
			return nil, err
		}
		return nil, repos.UploadCode(c.Request.Context(), access(c).Project, c.Query("repo_id"), hash, blob)
	}))
	g.POST("/files/upload_archive", r.authed(func(c *gin.Context) (any, error) {
		hash, blob, err := r.upload(c)
		if err != nil {
			return nil, err
		}
		return repos.UploadArchive(c.Request.Context(), actor(c), hash, blob)
	}))
	g.POST("/files/get_archive_by_hash", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.GetFileArchiveByHashRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return repos.ArchiveByHash(c.Request.Context(), actor(c), req.Hash)
	}))
}

// upload reads the multipart field "file", whose filename is the blob's
// hash, within the server's upload limit.
func (r *Router) upload(c *gin.Context) (string, []byte, error) {
	limit := r.env.CodeUploadLimit
	if limit > 0 && c.Request.ContentLength > limit {
		return "", nil, services.Invalid("The upload is %d bytes; this server accepts up to %d (DSTACK_SERVER_CODE_UPLOAD_LIMIT). Use files: or a smaller repo diff", c.Request.ContentLength, limit)
	}
	if limit > 0 {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+64<<10)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return "", nil, &validationError{Loc: []any{"body", "file"}, Msg: "a multipart field \"file\" is required: " + err.Error(), Typ: "missing"}
	}
	if limit > 0 && fh.Size > limit {
		return "", nil, services.Invalid("The upload is %d bytes; this server accepts up to %d (DSTACK_SERVER_CODE_UPLOAD_LIMIT)", fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	blob, err := io.ReadAll(f)
	if err != nil {
		return "", nil, fmt.Errorf("read upload: %w", err)
	}
	return fh.Filename, blob, nil
}
