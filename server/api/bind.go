package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// maxBody bounds JSON request bodies.
const maxBody = 16 << 20

// bind decodes an optional JSON body into v: an empty body leaves v as is
// (many clients send none on list/get routes), and unknown fields are
// ignored (clients of different versions send different field sets).
func bind(c *gin.Context, v any) error {
	if c.Request.Body == nil {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		return &validationError{Loc: []any{"body"}, Msg: "Request body is too large or unreadable: " + err.Error(), Typ: "value_error"}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// bindRequired is bind for routes whose body is mandatory.
func bindRequired(c *gin.Context, v any) error {
	if c.Request.ContentLength == 0 && c.Request.Header.Get("Transfer-Encoding") == "" {
		return &validationError{Loc: []any{"body"}, Msg: "Field required", Typ: "missing"}
	}
	return bind(c, v)
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &validationError{Loc: []any{"body", te.Field}, Msg: fmt.Sprintf("Input should be %s, got JSON %s", te.Type, te.Value), Typ: "type_error"}
	case errors.As(err, &se):
		return &validationError{Loc: []any{"body", se.Offset}, Msg: "JSON decode error: " + se.Error(), Typ: "json_invalid"}
	default:
		return &validationError{Loc: []any{"body"}, Msg: err.Error(), Typ: "value_error"}
	}
}
