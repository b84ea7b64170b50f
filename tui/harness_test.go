package tui

import (
	"context"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"
)

// harness drives the root model without a terminal: commands run in the
// test goroutine, their messages go back in, and refresh ticks wait in
// ticks until the test delivers them with tick — time never passes on its
// own, so the tests are deterministic.
type harness struct {
	t     *testing.T
	m     *Model
	fake  *fakeBackend
	ticks []tea.Msg
	quit  bool
}

// asciiRenderer renders without colours, as under NO_COLOR.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func testCommon(b Backend, w, h int) Common {
	c := NewCommon(context.Background(), asciiRenderer(), b, "main", nil)
	c.Now = func() time.Time { return testNow }
	c.Interval = time.Millisecond
	c.Width, c.Height = w, h
	return c
}

func newHarness(t *testing.T, f *fakeBackend, w, h int) *harness {
	t.Helper()
	h2 := &harness{t: t, fake: f, m: New(testCommon(f, w, h))}
	h2.run(h2.m.Init())
	return h2
}

// send delivers msg and everything it causes, ticks excepted.
func (h *harness) send(msg tea.Msg) {
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		require.LessOrEqual(h.t, steps, 1000, "commands do not settle")

		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			h.quit = true
		case pollTick:
			h.ticks = append(h.ticks, msg)
		default:
			_, next := h.m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// tick delivers the waiting refresh ticks: one round of every live loop.
func (h *harness) tick() {
	ticks := h.ticks
	h.ticks = nil
	for _, t := range ticks {
		h.send(t)
	}
}

// keys types each key: names like "enter", "tab", "ctrl+c", or runes.
func (h *harness) keys(keys ...string) {
	for _, k := range keys {
		h.send(keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyMsg {
	named := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"up": tea.KeyUp, "down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd, "ctrl+c": tea.KeyCtrlC, "backspace": tea.KeyBackspace,
	}
	if t, ok := named[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}
