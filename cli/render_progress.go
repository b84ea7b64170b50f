package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// spinnerFrames animate the status line on a terminal.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// progress shows a status line under a table while something provisions.
// On a terminal it redraws in place with a spinner; elsewhere (pipes, CI
// logs) it prints the status line only when it changes, never the table.
type progress struct {
	w      io.Writer
	scr    screen
	status string
	table  string
	frame  int
	lines  int // lines drawn last time, to erase them
}

func newProgress(w io.Writer) *progress { return &progress{w: w, scr: screenOf(w)} }

// show sets the status and the table (nil: none) and draws them.
func (p *progress) show(status string, g *grid) {
	table := ""
	if g != nil {
		var b strings.Builder
		_ = g.render(&b, p.scr.width)
		table = b.String()
	}
	if !p.scr.tty {
		if status != p.status {
			fmt.Fprintln(p.w, status)
		}
		p.status = status
		return
	}
	p.status, p.table = status, table
	p.draw()
}

func (p *progress) draw() {
	p.erase()
	text := p.table + spinnerFrames[p.frame%len(spinnerFrames)] + " " + p.status + "\n"
	p.frame++
	p.lines = strings.Count(text, "\n")
	fmt.Fprint(p.w, text)
}

func (p *progress) erase() {
	if p.lines > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.lines)
		p.lines = 0
	}
}

// clear removes what a terminal shows; elsewhere it does nothing.
func (p *progress) clear() {
	if p.scr.tty {
		p.erase()
	}
}

// wait sleeps for d, animating the spinner on a terminal; it returns false
// when ctx ends first.
func (p *progress) wait(ctx context.Context, d time.Duration) bool {
	step := d
	if p.scr.tty {
		step = 100 * time.Millisecond
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(step, time.Until(deadline))):
		}
		if p.scr.tty && p.status != "" {
			p.draw()
		}
	}
	return true
}
