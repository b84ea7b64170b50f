// Package schemas holds the wire types of the dstack agents: the shim HTTP API v2
// (served on 127.0.0.1:10998 of every host) and the runner HTTP API (served on
// port 10999 inside every job container).
//
// Field names, JSON keys and their order follow the upstream dstack Go agent so
// that our server can drive upstream agents and upstream servers can drive ours.
// Pointers are used only where the upstream wire format allows null.
package schemas
