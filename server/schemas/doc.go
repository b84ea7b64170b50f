// Package schemas holds the wire types of dstack's public HTTP API: snake_case
// JSON in upstream's field names and order, pointers only where a field is
// nullable, and their validation. Both the server and the built-in client use
// these types, so each JSON shape has one definition. How JSON and YAML are
// decoded into them (shorthands, defaults, error paths and lines) is package
// decode's job; the types plug into it through its small interfaces.
package schemas
