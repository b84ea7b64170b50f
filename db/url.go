package db

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Dialect names the database engine behind a URL.
type Dialect string

// The supported database engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Target is a parsed database URL: which engine, and how to reach it.
type Target struct {
	Dialect Dialect
	// Path is the SQLite file (absolute).
	Path string
	// DSN is what the Postgres driver is given (postgres://…).
	DSN string
}

// String describes the target without credentials, for logs and the console.
func (t Target) String() string {
	if t.Dialect == SQLite {
		return "sqlite " + t.Path
	}
	u, err := url.Parse(t.DSN)
	if err != nil {
		return "postgres"
	}
	u.User = nil
	u.RawQuery = ""
	return "postgres " + u.Host + u.Path
}

// ParseURL accepts the forms upstream dstack accepts in DSTACK_DATABASE_URL
// (SQLAlchemy URLs such as postgresql+asyncpg://u:p@h/db and
// sqlite+aiosqlite:///path) as well as plain postgres:// and sqlite:// URLs.
func ParseURL(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Target{}, fmt.Errorf("database URL %q has no scheme: use postgresql://user:password@host:5432/db or sqlite:///path/to/file.db", redact(raw))
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "postgres", "postgresql":
		u, err := url.Parse("postgres://" + rest)
		if err != nil {
			return Target{}, fmt.Errorf("parse database URL %q: %w", redact(raw), err)
		}
		if u.Host == "" {
			return Target{}, fmt.Errorf("database URL %q has no host: use postgresql://user:password@host:5432/db", redact(raw))
		}
		return Target{Dialect: Postgres, DSN: u.String()}, nil
	case "sqlite", "sqlite3":
		path := rest
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		// sqlite:///abs/path has rest "/abs/path"; sqlite:///rel is relative in SQLAlchemy,
		// sqlite:////abs is absolute. Accept both by cleaning to an absolute path.
		path = strings.TrimPrefix(path, "/")
		if strings.HasPrefix(path, "/") || !filepath.IsAbs("/"+path) {
			path = filepath.Clean(path)
		} else {
			path = "/" + path
		}
		if path == "/" || path == "." || path == "" {
			return Target{}, fmt.Errorf("database URL %q has no file path: use sqlite:///path/to/file.db", raw)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return Target{}, fmt.Errorf("resolve sqlite path %q: %w", path, err)
		}
		return Target{Dialect: SQLite, Path: abs}, nil
	default:
		return Target{}, fmt.Errorf("database URL scheme %q is not supported: use postgresql:// (also postgresql+asyncpg://, postgres://) or sqlite://", scheme)
	}
}

// redact hides the password of a URL in error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
