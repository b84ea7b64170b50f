package logstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// timeLayout is how File writes timestamps: ISO 8601 UTC with microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// appendLine appends e as one JSON line in the compact form pydantic's
// model_dump_json produces (no spaces, no HTML escaping, raw UTF-8).
func appendLine(buf []byte, e Event) []byte {
	buf = append(buf, `{"timestamp":"`...)
	buf = e.Timestamp.UTC().AppendFormat(buf, timeLayout)
	buf = append(buf, `","log_source":"stdout","message":`...)
	if utf8.Valid(e.Message) {
		buf = appendJSONString(buf, e.Message)
	} else {
		buf = appendJSONString(buf, validUTF8(e.Message))
	}
	return append(buf, "}\n"...)
}

// appendJSONString appends s (valid UTF-8) as a JSON string literal, escaping
// only what JSON requires, as serde_json (pydantic) does.
func appendJSONString[S string | []byte](buf []byte, s S) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// fileLine is the stored JSON object; unknown fields are ignored on read.
type fileLine struct {
	Timestamp string  `json:"timestamp"`
	LogSource string  `json:"log_source"`
	Message   *string `json:"message"`
}

// parseLine decodes one stored line; ok is false for a malformed line, which
// readers skip (blank, bad JSON, bad timestamp, unknown log_source, no message).
func parseLine(line []byte) (Entry, bool) {
	if len(line) == 0 || !utf8.Valid(line) {
		return Entry{}, false
	}
	l, ok := parseCompact(line)
	if !ok {
		if json.Unmarshal(line, &l) != nil || l.Message == nil {
			return Entry{}, false
		}
	}
	if l.LogSource != "stdout" && l.LogSource != "stderr" {
		return Entry{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, l.Timestamp)
	if err != nil {
		// pydantic also accepts naive timestamps; dstack only writes UTC ones.
		if ts, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", l.Timestamp, time.UTC); err != nil {
			return Entry{}, false
		}
	}
	return Entry{Timestamp: ts.UTC(), Source: l.LogSource, Message: *l.Message}, true
}

// parseCompact is the fast path for lines in exactly the layout appendLine
// (and pydantic) writes; ok is false for anything else, which then goes
// through encoding/json.
func parseCompact(line []byte) (l fileLine, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"timestamp":"`))
	if !ok {
		return l, false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || !plain(rest[:i]) {
		return l, false
	}
	l.Timestamp, rest = string(rest[:i]), rest[i:]
	if rest, ok = bytes.CutPrefix(rest, []byte(`","log_source":"`)); !ok {
		return l, false
	}
	if i = bytes.IndexByte(rest, '"'); i < 0 || !plain(rest[:i]) {
		return l, false
	}
	l.LogSource, rest = string(rest[:i]), rest[i:]
	if rest, ok = bytes.CutPrefix(rest, []byte(`","message":"`)); !ok {
		return l, false
	}
	if rest, ok = bytes.CutSuffix(rest, []byte(`"}`)); !ok {
		return l, false
	}
	msg, ok := unescape(rest)
	l.Message = &msg
	return l, ok
}

// plain reports whether s is a JSON string body without escapes.
func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

// unescape decodes the body of a JSON string literal; ok is false if it has
// an unescaped quote or control character or a bad escape.
func unescape(s []byte) (string, bool) {
	if bytes.IndexByte(s, '\\') < 0 {
		for _, c := range s {
			if c < 0x20 || c == '"' {
				return "", false
			}
		}
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' {
			return "", false
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i++; i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s[min(i+3, len(s)):]); ok && s[i+1] == '\\' && s[i+2] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r, i = dec, i+6
					}
				}
			}
			out = utf8.AppendRune(out, r) // a lone surrogate becomes U+FFFD
		default:
			return "", false
		}
	}
	return string(out), true
}

// hex4 parses four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[:4]), 16, 16)
	return rune(n), err == nil
}
