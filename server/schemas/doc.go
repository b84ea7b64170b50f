// Package schemas holds the wire types of dstack's public HTTP API: snake_case
// JSON in upstream's field names and order, pointers only where a field is
// nullable. Both the server and the built-in client use these types, so each
// JSON shape has one definition.
package schemas
