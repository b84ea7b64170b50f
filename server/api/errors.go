package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// HandlerFunc is a route: it returns the response body or an error.
type HandlerFunc func(c *gin.Context) (any, error)

// validationError is a request the server could not decode (422, FastAPI's shape).
type validationError struct {
	Loc []any
	Msg string
	Typ string
}

func (e *validationError) Error() string { return e.Msg }

// respond writes a handler's result: the body as JSON (null for none), or
// the error in upstream's shape. This is the only place errors become HTTP.
func respond(log *slog.Logger, c *gin.Context, body any, err error) {
	if err == nil {
		writeJSON(c, http.StatusOK, body)
		return
	}
	var se *services.Error
	var ve *validationError
	switch {
	case errors.As(err, &se):
		status, payload := serviceError(se)
		writeJSON(c, status, payload)
	case errors.As(err, &ve):
		writeJSON(c, http.StatusUnprocessableEntity, gin.H{"detail": []gin.H{{
			"type": ve.Typ, "loc": ve.Loc, "msg": ve.Msg, "input": nil,
		}}})
	default:
		log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		writeJSON(c, http.StatusInternalServerError, gin.H{"detail": "Internal Server Error"})
	}
}

func serviceError(e *services.Error) (int, any) {
	switch e.Kind {
	case services.KindForbidden, services.KindInvalidToken:
		return http.StatusForbidden, schemas.ErrorObject{Detail: schemas.ErrorDetail{Msg: e.Msg}}
	case services.KindNotAuthenticated:
		return http.StatusForbidden, gin.H{"detail": "Not authenticated"}
	case services.KindProjectNotFound:
		return http.StatusNotFound, schemas.ErrorObject{Detail: schemas.ErrorDetail{Msg: "Not found"}}
	default:
		code := e.Code()
		return http.StatusBadRequest, schemas.ErrorList{Detail: []schemas.ErrorDetail{{Msg: e.Msg, Code: &code, Fields: e.Fields}}}
	}
}

func writeJSON(c *gin.Context, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`)
	}
	c.Data(status, "application/json", b)
}
