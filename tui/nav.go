package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// cursor is a selection in a list of n rows shown height rows at a time.
type cursor struct {
	pos, top, n, height int
}

// setLen updates the row count, keeping the selection in range.
func (c *cursor) setLen(n int) {
	c.n = n
	c.clamp()
}

// setHeight updates the number of visible rows.
func (c *cursor) setHeight(h int) {
	c.height = max(h, 1)
	c.clamp()
}

// move handles the navigation keys; it reports whether msg was one.
func (c *cursor) move(km *KeyMap, msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, km.Up):
		c.pos--
	case key.Matches(msg, km.Down):
		c.pos++
	case key.Matches(msg, km.PageUp):
		c.pos -= c.height
	case key.Matches(msg, km.PageDown):
		c.pos += c.height
	case key.Matches(msg, km.Top):
		c.pos = 0
	case key.Matches(msg, km.Bottom):
		c.pos = c.n - 1
	default:
		return false
	}
	c.clamp()
	return true
}

func (c *cursor) clamp() {
	c.pos = min(max(c.pos, 0), max(c.n-1, 0))
	if c.height < 1 {
		c.height = 1
	}
	if c.pos < c.top {
		c.top = c.pos
	}
	if c.pos >= c.top+c.height {
		c.top = c.pos - c.height + 1
	}
	c.top = min(max(c.top, 0), max(c.n-c.height, 0))
}

// window returns the visible rows [from, to).
func (c *cursor) window() (from, to int) {
	return c.top, min(c.top+c.height, c.n)
}

// input is a one-line text field for filters and searches: plain, no
// blinking cursor, so it renders the same everywhere.
type input struct {
	prompt string
	value  string
	active bool
}

// update edits the field; done is true on enter or esc (esc clears it).
func (in *input) update(msg tea.KeyMsg) (done bool) {
	switch msg.Type {
	case tea.KeyEnter:
		in.active = false
		return true
	case tea.KeyEsc:
		in.active, in.value = false, ""
		return true
	case tea.KeyBackspace:
		if r := []rune(in.value); len(r) > 0 {
			in.value = string(r[:len(r)-1])
		}
	case tea.KeyCtrlU:
		in.value = ""
	case tea.KeyRunes, tea.KeySpace:
		in.value += string(msg.Runes)
	}
	return false
}

// view renders the field while it is being edited.
func (in *input) view() string {
	return in.prompt + in.value + "█"
}
