package tui

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// MaxLogLines bounds the Logs page's buffer; older lines are dropped.
const MaxLogLines = 100_000

// logBuffer is a ring of the newest log lines. Lines are cleaned once on the
// way in (no escape sequences, tabs expanded), so drawing a window is only
// slicing and truncating.
type logBuffer struct {
	lines   []string
	start   int  // index of the oldest line once the ring is full
	max     int  // capacity
	dropped int  // lines evicted so far
	open    bool // the last line has not seen its newline yet
}

func newLogBuffer(max int) *logBuffer { return &logBuffer{max: max} }

// len is the number of lines held.
func (b *logBuffer) len() int { return len(b.lines) }

// at returns line i, 0 being the oldest held.
func (b *logBuffer) at(i int) string {
	return b.lines[(b.start+i)%len(b.lines)]
}

// reset empties the buffer.
func (b *logBuffer) reset() { *b = logBuffer{max: b.max} }

// write appends raw log text: a chunk may end mid-line, and the next chunk
// continues that line.
func (b *logBuffer) write(text string) {
	if text == "" {
		return
	}
	parts := strings.Split(text, "\n")
	for i, part := range parts {
		last := i == len(parts)-1
		if last && part == "" {
			b.open = false
			return
		}
		if i == 0 && b.open && b.len() > 0 {
			j := (b.start + b.len() - 1) % len(b.lines)
			b.lines[j] = cleanLine(b.lines[j] + part)
		} else {
			b.push(cleanLine(part))
		}
		b.open = last
	}
}

func (b *logBuffer) push(line string) {
	if len(b.lines) < b.max {
		b.lines = append(b.lines, line)
		return
	}
	b.lines[b.start] = line
	b.start = (b.start + 1) % b.max
	b.dropped++
}

// cleanLine keeps what a terminal line can show: the text after the last
// carriage return (progress bars redraw that way), escape sequences removed,
// tabs expanded, other control characters dropped.
func cleanLine(s string) string {
	if i := strings.LastIndexByte(strings.TrimRight(s, "\r"), '\r'); i >= 0 {
		s = s[i+1:]
	}
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.Strip(s)
	}
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var out strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			out.WriteString("    ")
		case !unicode.IsControl(r):
			out.WriteRune(r)
		}
	}
	return out.String()
}

// find returns the first line from `from` in direction dir (+1 or -1)
// containing q (case-insensitive), wrapping around; -1 when none does.
func (b *logBuffer) find(q string, from, dir int) int {
	n := b.len()
	if q == "" || n == 0 {
		return -1
	}
	for k := 0; k < n; k++ {
		i := ((from+dir*k)%n + n) % n
		if containsFold(b.at(i), q) {
			return i
		}
	}
	return -1
}

// containsFold reports whether s contains q, which is lower case, ignoring
// case; the first byte is compared before the slower fold.
func containsFold(s, q string) bool {
	if q == "" || len(q) > len(s) {
		return q == ""
	}
	c0 := q[0]
	for i := 0; i+len(q) <= len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == c0 && strings.EqualFold(s[i:i+len(q)], q) {
			return true
		}
	}
	return false
}
