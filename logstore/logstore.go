package logstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SourceStdout is the log_source of every stored entry: the runner merges the
// job's stdout and stderr through a pty, so the split is not known.
const SourceStdout = "stdout"

// ErrBadToken is wrapped by Poll errors caused by a malformed NextToken; the API
// layer answers them with HTTP 400.
var ErrBadToken = errors.New("invalid next_token")

// Event is one log chunk as pulled from the runner: a millisecond timestamp and
// the raw bytes it printed (not necessarily valid UTF-8).
type Event struct {
	Timestamp time.Time
	Message   []byte
}

// Key names one log: the job's output (Diagnose=false, "job.log" / ".../job")
// or the runner's own log (Diagnose=true, "runner.log" / ".../runner") of one
// job submission.
type Key struct {
	Project         string
	Run             string
	JobSubmissionID string
	Diagnose        bool
}

// producer is the file/stream suffix upstream calls LogProducer.
func (k Key) producer() string {
	if k.Diagnose {
		return "runner"
	}
	return "job"
}

// valid reports whether every name is usable as one path component, so a key
// cannot escape the log directory.
func (k Key) valid() bool {
	for _, s := range []string{k.Project, k.Run, k.JobSubmissionID} {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
			return false
		}
	}
	return true
}

// Query is a PollLogsRequest resolved to a Key.
type Query struct {
	Key
	// StartTime is an exclusive lower bound (nil: none).
	StartTime *time.Time
	// EndTime is an upper bound (nil: none): exclusive when ascending,
	// inclusive when descending, as in upstream's file storage.
	EndTime *time.Time
	// Descending pages newest→oldest.
	Descending bool
	// NextToken continues a previous Poll with the same direction.
	NextToken *string
	// Limit is the page size; the API allows 0..1000 and defaults to 100.
	// Limit <= 0 yields an empty page without a token.
	Limit int
}

// Entry is one stored log line; Message is plain text (valid UTF-8).
type Entry struct {
	Timestamp time.Time
	Source    string
	Message   string
}

// Page is one Poll result. NextToken is nil when there is nothing more to read
// right now; ExternalURL is set by stores that have a console (CloudWatch).
type Page struct {
	Entries     []Entry
	NextToken   *string
	ExternalURL *string
}

// Store persists and serves job logs.
type Store interface {
	// Write appends events, in order, to the log named by k. It is safe for
	// concurrent use with different keys.
	Write(ctx context.Context, k Key, events []Event) error
	// Poll reads one page of the log named by q.Key.
	Poll(ctx context.Context, q Query) (Page, error)
	// Describe names the storage for the console, e.g. "file /srv/projects".
	Describe() string
	// Close releases resources.
	Close() error
}

// parseOffset parses a numeric file-store token.
func parseOffset(tok string) (int64, error) {
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %q: must be a non-negative integer", ErrBadToken, tok)
	}
	return n, nil
}

// validUTF8 decodes raw runner output like Python's bytes.decode(errors="replace"):
// each maximal invalid subpart becomes one U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			sb.WriteByte(b[i])
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			sb.WriteRune(utf8.RuneError)
			i += invalidLen(b[i:])
			continue
		}
		sb.Write(b[i : i+n])
		i += n
	}
	return sb.String()
}

// invalidLen returns the length of the maximal subpart of an ill-formed UTF-8
// sequence at the start of p (Unicode §3.9, "U+FFFD substitution of maximal
// subparts"), which is what CPython replaces with a single U+FFFD.
func invalidLen(p []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch b := p[0]; {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b == 0xE0:
		need, lo = 2, 0xA0
	case b == 0xED:
		need, hi = 2, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		need = 2
	case b == 0xF0:
		need, lo = 3, 0x90
	case b == 0xF4:
		need, hi = 3, 0x8F
	case b >= 0xF1 && b <= 0xF3:
		need = 3
	default:
		return 1
	}
	if len(p) < 2 || p[1] < lo || p[1] > hi {
		return 1
	}
	n := 2
	for n <= need && n < len(p) && p[n] >= 0x80 && p[n] <= 0xBF {
		n++
	}
	return n
}
