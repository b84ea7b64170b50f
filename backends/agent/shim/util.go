package shim

import (
	"os"
	"strings"
)

// tailFile returns the last n non-empty lines of a file (reading at most 64 KiB).
func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const maxTail = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := st.Size() - maxTail
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil
	}
	return lastLines(string(buf), n)
}

func lastLines(s string, n int) []string {
	lines := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
