package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

func (r *Router) userRoutes(g *gin.RouterGroup) {
	g.POST("/users/list", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.ListUsersRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		return r.users.List(c.Request.Context(), actor(c), req)
	}))
	g.POST("/users/get_my_user", r.authed(func(c *gin.Context) (any, error) {
		return r.users.WithCreds(c.Request.Context(), actor(c))
	}))
	g.POST("/users/get_user", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.GetUserRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return r.users.Get(c.Request.Context(), actor(c), req.Username)
	}))
	g.POST("/users/create", r.admin(func(c *gin.Context) (any, error) {
		var req schemas.CreateUserRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		u, err := r.users.Create(c.Request.Context(), actor(c), req, "")
		if err != nil {
			return nil, err
		}
		return r.users.Schema(u), nil
	}))
	g.POST("/users/update", r.admin(func(c *gin.Context) (any, error) {
		var req schemas.UpdateUserRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		u, err := r.users.Update(c.Request.Context(), actor(c), req)
		if err != nil {
			return nil, err
		}
		return r.users.Schema(u), nil
	}))
	g.POST("/users/refresh_token", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.RefreshTokenRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return r.users.RefreshToken(c.Request.Context(), actor(c), req.Username)
	}))
	g.POST("/users/refresh_ssh_key", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.RefreshTokenRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return r.users.RefreshSSHKey(c.Request.Context(), actor(c), req.Username)
	}))
	g.POST("/users/delete", r.admin(func(c *gin.Context) (any, error) {
		var req schemas.DeleteUsersRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, r.users.Delete(c.Request.Context(), actor(c), req.Users)
	}))
	g.POST("/users/public_keys/list", r.authed(func(c *gin.Context) (any, error) {
		return r.publicKeys.List(c.Request.Context(), actor(c))
	}))
	g.POST("/users/public_keys/add", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.AddPublicKeyRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		owner := actor(c)
		if req.Username != nil && !strings.EqualFold(*req.Username, owner.Name) {
			if owner.GlobalRole != string(schemas.GlobalRoleAdmin) {
				return nil, services.Forbidden()
			}
			u, err := r.users.Lookup(c.Request.Context(), *req.Username)
			if err != nil {
				return nil, err
			}
			owner = u
		}
		return r.publicKeys.Add(c.Request.Context(), owner, req.Key, req.Name)
	}))
	g.POST("/users/public_keys/delete", r.authed(func(c *gin.Context) (any, error) {
		var req schemas.DeletePublicKeysRequest
		if err := bindRequired(c, &req); err != nil {
			return nil, err
		}
		return nil, r.publicKeys.Delete(c.Request.Context(), actor(c), req.IDs)
	}))
}
