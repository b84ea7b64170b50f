package logstore

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzLine checks that every message survives a write/read round trip and
// that the fast parser agrees with encoding/json whenever it accepts a line.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\b\f", "\x00\x1f\x7f", "é日😀", "bad \xff\xe2\x82",
		`\u00e9`, `{"timestamp":"2026-08-21T13:11:00Z","log_source":"stdout","message":"\ud83d\ude00 \ud83d x\/"}`,
		`{"timestamp":"2026-08-21T13:11:00Z","log_source":"stdout","message":"a"b"}`,
		`{"timestamp":"2026-08-21T13:11:00Z","log_source":"stdout","message":"\u12"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev := Event{Timestamp: time.UnixMilli(1787317860123), Message: b}
		line := appendLine(nil, ev)
		e, ok := parseLine(line[:len(line)-1])
		require.True(t, ok, "round trip of %q: not parsed", b)
		require.Equal(t, validUTF8(b), e.Message, "round trip of %q: message", b)
		require.True(t, e.Timestamp.Equal(ev.Timestamp), "round trip of %q: timestamp %v, want %v", b, e.Timestamp, ev.Timestamp)

		if fast, ok := parseCompact(b); ok && utf8.Valid(b) { // parseLine rejects invalid UTF-8 first
			var slow fileLine
			require.NoError(t, json.Unmarshal(b, &slow), "fast parser accepted %q", b)
			require.NotNil(t, slow.Message, "fast parser accepted %q, json has no message", b)
			require.Equal(t, slow.Timestamp, fast.Timestamp, "%q: timestamp", b)
			require.Equal(t, slow.LogSource, fast.LogSource, "%q: log source", b)
			require.Equal(t, *slow.Message, *fast.Message, "%q: message", b)
		}
	})
}
