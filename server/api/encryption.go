package api

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// encryptionRoutes are this server's own admin routes for key rotation.
func (r *Router) encryptionRoutes(g *gin.RouterGroup) {
	g.POST("/admin/encryption/status", r.admin(func(c *gin.Context) (any, error) {
		e, err := r.encryption()
		if err != nil {
			return nil, err
		}
		return e.Status(c.Request.Context())
	}))
	g.POST("/admin/encryption/reencrypt", r.admin(func(c *gin.Context) (any, error) {
		var req schemas.ReencryptRequest
		if err := bind(c, &req); err != nil {
			return nil, err
		}
		e, err := r.encryption()
		if err != nil {
			return nil, err
		}
		cursor := ""
		if req.Cursor != nil {
			cursor = *req.Cursor
		}
		return e.Reencrypt(c.Request.Context(), cursor, req.Limit)
	}))
}

func (r *Router) encryption() (services.Encryption, error) {
	k, ok := r.env.Sealer.(services.Keyring)
	if !ok {
		return services.Encryption{}, errors.New("the server's sealer is not a keyring")
	}
	return services.Encryption{Env: r.env, Keys: k}, nil
}
