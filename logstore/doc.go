// Package logstore stores the logs that the server pulls from job runners and
// serves them back to the logs API (POST /api/project/{p}/logs/poll).
//
// Two implementations share the Store interface:
//
//   - File (the default) keeps one JSON Lines file per job submission and
//     producer under <server dir>/projects/<project>/logs/<run>/<job submission
//     id>/{job,runner}.log, byte-compatible with the Python server's
//     FileLogStorage, so a server directory can move between the two.
//   - CloudWatch keeps one log stream per job submission and producer,
//     <project>/<run>/<job submission id>/{job,runner}, in a pre-existing log
//     group, and links to the AWS console in Page.ExternalURL.
//
// Messages are stored as plain text (runner bytes decoded as UTF-8, invalid
// sequences replaced by U+FFFD the way Python's errors="replace" does); the API
// layer base64-encodes them for the wire. Paging tokens are opaque strings to
// callers: a line count (ascending) or byte offset (descending) for File, and
// CloudWatch's own forward/backward tokens for CloudWatch. A malformed token
// yields an error wrapping ErrBadToken, which the API answers with 400.
//
// The package imports nothing from the rest of the project.
package logstore
