package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func (p *logsPage) key(msg tea.KeyMsg) tea.Cmd {
	km := p.c.Keys
	if p.search.active {
		if p.search.update(msg) {
			p.query = strings.ToLower(p.search.value)
			p.jump(p.top, 1)
		}
		return nil
	}
	h := p.height()
	switch {
	case key.Matches(msg, km.Follow):
		p.follow = true
		p.scroll(0)
	case key.Matches(msg, km.Top):
		p.follow = false
		p.top = 0
	case key.Matches(msg, km.Up):
		p.scroll(-1)
	case key.Matches(msg, km.Down):
		p.scroll(1)
	case key.Matches(msg, km.PageUp):
		p.scroll(-h)
	case key.Matches(msg, km.PageDown):
		p.scroll(h)
	case key.Matches(msg, km.Search):
		p.search.active, p.search.value = true, ""
	case key.Matches(msg, km.NextMatch):
		p.jump(p.match+1, 1)
	case key.Matches(msg, km.PrevMatch):
		p.jump(p.match-1, -1)
	case key.Matches(msg, km.Cancel):
		p.query, p.match = "", -1
	case key.Matches(msg, km.Refresh):
		if p.target != nil && p.target.submission != "" && p.poll.refresh() {
			return p.fetch()
		}
	}
	return nil
}

// jump moves to the next match of the query from line `from` in direction
// dir, centring it on screen.
func (p *logsPage) jump(from, dir int) {
	if p.query == "" {
		p.match = -1
		return
	}
	if from < 0 {
		from = p.buf.len() - 1
	}
	p.match = p.buf.find(p.query, from, dir)
	if p.match < 0 {
		return
	}
	p.follow = false
	p.top = p.match - p.height()/2
	p.scroll(0)
}

// View implements Component: only the visible window is drawn, whatever
// the buffer holds.
func (p *logsPage) View() string {
	st := p.c.Styles
	if p.target == nil {
		return "Logs\n\nNo run selected.\nPick one on the Runs page (1) and press l, or come here with it selected."
	}
	t := p.target
	title := fmt.Sprintf("Logs · %s · job %s · submission %d", t.run, orDash(&t.job), t.subNum)
	lines := []string{st.Header.Render(title)}
	h := p.height()
	switch {
	case t.submission == "":
		return strings.Join(append(lines, "", "This run has no job submission yet: its logs appear once it is scheduled."), "\n")
	case !p.loaded && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "logs", p.err)), "\n")
	case !p.loaded:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading logs…")), "\n")
	case p.buf.len() == 0:
		lines = append(lines, st.Subtle.Render("No output yet; new lines appear as the job writes them."))
	}
	to := min(p.top+h, p.buf.len())
	for i := p.top; i < to; i++ {
		line := clip(p.buf.at(i), p.c.Width)
		switch {
		case i == p.match:
			line = st.Match.Render(line)
		case p.query != "" && containsFold(line, p.query):
			line = st.Info.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < h+1 {
		lines = append(lines, "")
	}
	return strings.Join(append(lines, p.status()), "\n")
}

// status is the last line: the search being typed, the match, or where
// the window is.
func (p *logsPage) status() string {
	st := p.c.Styles
	if p.search.active {
		return p.search.view()
	}
	pos := fmt.Sprintf("lines %d-%d of %d", min(p.top+1, p.buf.len()), min(p.top+p.height(), p.buf.len()), p.buf.len())
	if p.buf.dropped > 0 {
		pos += fmt.Sprintf(" (%d older dropped)", p.buf.dropped)
	}
	mode := "following"
	if !p.follow {
		mode = "paused (G: follow)"
	}
	s := pos + " · " + mode
	switch {
	case p.query != "" && p.match < 0:
		s += fmt.Sprintf(" · no match for %q", p.query)
	case p.query != "":
		s += fmt.Sprintf(" · %q at line %d (n/N)", p.query, p.match+1)
	}
	if p.err != nil {
		return st.Error.Render(clip(s+" · "+p.err.Error(), p.c.Width))
	}
	return st.Subtle.Render(s)
}

// ShortHelp implements help.KeyMap.
func (p *logsPage) ShortHelp() []key.Binding {
	k := p.c.Keys
	return []key.Binding{k.Up, k.Down, k.Follow, k.Search, k.NextMatch, k.PrevMatch}
}

// FullHelp implements help.KeyMap.
func (p *logsPage) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Follow}, {k.Search, k.NextMatch, k.PrevMatch, k.Cancel, k.Refresh}}
}
