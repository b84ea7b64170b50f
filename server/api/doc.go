// Package api is the HTTP API of the server: a gin router with one file per
// upstream router, an auth middleware, and the single adapter that turns
// service errors into upstream's error JSON.
package api
