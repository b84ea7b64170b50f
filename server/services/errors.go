package services

import (
	"fmt"

	"github.com/dstackgo/dstack/server/schemas"
)

// Kind classifies an error for the one HTTP adapter in server/api.
type Kind int

// Error kinds. Business errors (the first three) become 400 with upstream's
// detail list; the others mirror upstream's auth and routing answers.
const (
	KindInvalid             Kind = iota // 400, code "error"
	KindNotFound                        // 400, code "resource_not_exists"
	KindExists                          // 400, code "resource_exists"
	KindForbidden                       // 403 {"detail": {"msg": "Access denied"}}
	KindInvalidToken                    // 403 {"detail": {"msg": "Invalid token"}}
	KindNotAuthenticated                // 403 {"detail": "Not authenticated"}
	KindProjectNotFound                 // 404 {"detail": {"msg": "Not found"}}
	KindInvalidCredentials              // 400, code "invalid_credentials"
	KindBackendNotAvailable             // 400, code "backend_not_available"
)

// Error is an error a client can act on; anything else is a server error.
type Error struct {
	Kind   Kind
	Msg    string
	Fields []string
}

func (e *Error) Error() string { return e.Msg }

// Code is the upstream error code of a 400 error.
func (e *Error) Code() schemas.ErrorCode {
	switch e.Kind {
	case KindNotFound:
		return schemas.ErrorCodeResourceNotExists
	case KindExists:
		return schemas.ErrorCodeResourceExists
	case KindInvalidCredentials:
		return schemas.ErrorCodeInvalidCreds
	case KindBackendNotAvailable:
		return schemas.ErrorCodeBackendNotAvail
	default:
		return schemas.ErrorCodeError
	}
}

// Invalid is a 400 error for bad input.
func Invalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// InvalidField is a 400 error about one request field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...), Fields: []string{field}}
}

// NotFound is the 400 resource_not_exists error the official client expects.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Exists is the 400 resource_exists error.
func Exists(format string, args ...any) *Error {
	return &Error{Kind: KindExists, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden is upstream's 403 "Access denied".
func Forbidden() *Error { return &Error{Kind: KindForbidden, Msg: "Access denied"} }
