// Package proxy publishes service runs through the server, as upstream's
// in-server proxy does when a service has no gateway: requests to
// /proxy/services/<project>/<run>/… go to one of the run's ready replicas
// through the SSH connection the server already keeps to the replica's
// host, so hosts open no port for it. Streamed answers (server-sent events)
// pass through as they are written, and websockets are upgraded end to end.
package proxy
