package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/dstackgo/dstack/server/api/client"
)

// screen describes where human output goes: whether it is a terminal
// (spinners, rewritten lines) and how wide it is (0: unlimited, for pipes).
type screen struct {
	tty   bool
	width int
}

// screenOf inspects w. COLUMNS overrides the measured width, so output
// piped through `less` or captured by a test can still be sized.
func screenOf(w io.Writer) screen {
	var s screen
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
				s.tty, s.width = true, int(ws.Col)
			}
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		s.width = n
	}
	return s
}

// grid is a borderless table like upstream's: an upper-case header, two
// spaces between columns. Columns marked flexible give up width first
// (cells are cut with "…") when the table is wider than the screen.
type grid struct {
	headers []string
	flex    []bool
	rows    [][]string
}

// newGrid starts a table; a header ending in "~" marks a flexible column.
func newGrid(headers ...string) *grid {
	g := &grid{}
	for _, h := range headers {
		g.flex = append(g.flex, strings.HasSuffix(h, "~"))
		g.headers = append(g.headers, strings.TrimSuffix(h, "~"))
	}
	return g
}

// add appends a row; missing cells are blank.
func (g *grid) add(cells ...string) {
	row := make([]string, len(g.headers))
	copy(row, cells)
	g.rows = append(g.rows, row)
}

// render writes the table fitted to width (0: no limit).
func (g *grid) render(w io.Writer, width int) error {
	widths := g.widths(width)
	var b strings.Builder
	for _, row := range append([][]string{g.headers}, g.rows...) {
		var line strings.Builder
		for i, cell := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			cell = cut(cell, widths[i])
			line.WriteString(cell)
			line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// widths are the natural column widths, shrunk to fit width by taking
// from the widest flexible column first, never below its header.
func (g *grid) widths(width int) []int {
	ws := make([]int, len(g.headers))
	for _, row := range append([][]string{g.headers}, g.rows...) {
		for i, cell := range row {
			ws[i] = max(ws[i], utf8.RuneCountInString(cell))
		}
	}
	if width <= 0 {
		return ws
	}
	total := 2 * (len(ws) - 1)
	for _, x := range ws {
		total += x
	}
	for total > width {
		widest := -1
		for i, x := range ws {
			floor := max(utf8.RuneCountInString(g.headers[i]), 6)
			if g.flex[i] && x > floor && (widest < 0 || x > ws[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		ws[widest]--
		total--
	}
	return ws
}

// cut shortens s to n runes, ending in "…" when it had to cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatPrice renders a price like upstream: "$0", "$1.2", "$0.0286".
func formatPrice(p float64) string {
	s := strings.TrimRight(strconv.FormatFloat(p, 'f', 4, 64), "0")
	return "$" + strings.TrimSuffix(s, ".")
}

// formatDuration renders seconds in the largest unit that divides them
// ("2h", "90s", "1d"), as upstream's plan tables do.
func formatDuration(secs int) string {
	if secs == 0 {
		return "0s"
	}
	for _, u := range []struct {
		unit string
		n    int
	}{{"w", 7 * 86400}, {"d", 86400}, {"h", 3600}, {"m", 60}} {
		if secs%u.n == 0 {
			return fmt.Sprintf("%d%s", secs/u.n, u.unit)
		}
	}
	return fmt.Sprintf("%ds", secs)
}

// confirm asks a yes/no question and reads the answer from the command's
// input; anything but y/yes, the end of input or Ctrl-C is no.
func confirm(c *cli.Context, question string) bool {
	fmt.Fprintf(c.App.Writer, "%s [y/n]: ", question)
	answer := make(chan string, 1)
	go func() { // a read of a terminal cannot be cancelled: Ctrl-C abandons it
		var a string
		_, _ = fmt.Fscanln(c.App.Reader, &a)
		answer <- a
	}()
	select {
	case a := <-answer:
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			fmt.Fprintln(c.App.Writer)
		}
		return a == "y" || a == "yes"
	case <-c.Context.Done():
		fmt.Fprintln(c.App.Writer)
		return false
	}
}

// notFound turns the server's resource_not_exists into "<kind> <name> not
// found"; other errors pass through.
func notFound(err error, kind, name string) error {
	if client.IsNotFound(err) {
		return fmt.Errorf("%s %s not found", kind, name)
	}
	return err
}

// joinNames lists names for messages: "a", "a and b", "a, b and c".
func joinNames(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
