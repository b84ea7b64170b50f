package logstore

import (
	"encoding/json"
	"fmt"
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
		require.False(t, !ok || e.Message != validUTF8(b) || !e.Timestamp.Equal(ev.Timestamp), "round trip of %q: %+v %v", b, e, ok)
		if fast, ok := parseCompact(b); ok && utf8.Valid(b) { // parseLine rejects invalid UTF-8 first
			var slow fileLine
			if err := json.Unmarshal(b, &slow); err != nil || slow.Message == nil {
				require.FailNow(t, fmt.Sprintf("fast parser accepted %q, json: %v", b, err))
			}
			if fast.Timestamp != slow.Timestamp || fast.LogSource != slow.LogSource || *fast.Message != *slow.Message {
				require.FailNow(t, fmt.Sprintf("%q: fast %q/%q/%q, json %q/%q/%q", b, fast.Timestamp, fast.LogSource, *fast.Message,
					slow.Timestamp, slow.LogSource, *slow.Message))
			}
		}
	})
}
