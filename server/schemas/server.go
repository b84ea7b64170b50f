package schemas

// ServerInfo is the answer of server/get_info.
type ServerInfo struct {
	ServerVersion *string `json:"server_version"`
}

// ErrorCode is a business error's code (upstream ServerClientErrorCode).
type ErrorCode string

// Error codes the official client knows.
const (
	ErrorCodeError             ErrorCode = "error"
	ErrorCodeResourceExists    ErrorCode = "resource_exists"
	ErrorCodeResourceNotExists ErrorCode = "resource_not_exists"
	ErrorCodeInvalidCreds      ErrorCode = "invalid_credentials"
	ErrorCodeBackendNotAvail   ErrorCode = "backend_not_available"
	ErrorCodeRepoDoesNotExist  ErrorCode = "repo_does_not_exist"
	ErrorCodeGatewayError      ErrorCode = "gateway_error"
)

// ErrorDetail is one entry of a 400 answer's detail list. Only msg, code and
// fields may appear: the official client passes the keys on as arguments.
type ErrorDetail struct {
	Msg    string     `json:"msg"`
	Code   *ErrorCode `json:"code"`
	Fields []string   `json:"fields,omitempty"`
}

// ErrorList is the body of a 400 answer.
type ErrorList struct {
	Detail []ErrorDetail `json:"detail"`
}

// ErrorObject is the body of a 403/404 answer: detail is one object.
type ErrorObject struct {
	Detail ErrorDetail `json:"detail"`
}

// CompatibleVersion is the upstream dstack release whose API this server
// speaks; it is what server/get_info reports and what client versions are
// checked against.
const CompatibleVersion = "0.21.2"
