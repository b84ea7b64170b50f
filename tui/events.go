package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// eventsMsg answers ListEvents.
type eventsMsg struct {
	events []schemas.Event
	err    error
}

func (m eventsMsg) callErr() error { return m.err }

// eventsPage lists the project's latest events, newest first, live: what
// happened to its runs, jobs, fleets, instances and secrets, and who did it.
type eventsPage struct {
	c      Common
	poll   poller
	events []schemas.Event
	rows   [][]string
	tbl    *table
	cur    cursor
	err    error
	loaded bool
}

func newEventsPage(c Common) *eventsPage {
	return &eventsPage{
		c: c, poll: poller{owner: "events", every: c.Interval},
		tbl: newTable(
			column{title: "TIME (UTC)", max: 19},
			column{title: "ACTOR", max: 16, drop: 2},
			column{title: "TARGET", max: 40},
			column{title: "MESSAGE", max: 120, min: 16, flex: true},
		),
	}
}

// Init implements Component.
func (p *eventsPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *eventsPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *eventsPage) SetSize(w, h int) {
	p.c.SetSize(w, h)
	p.cur.setHeight(h - 2)
	p.tbl.layout(w - 2)
}

// Activate implements Page.
func (p *eventsPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *eventsPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var events []schemas.Event
		err := c.call(func(ctx context.Context) (err error) {
			events, err = c.Backend.ListEvents(ctx, c.Project)
			return err
		})
		return eventsMsg{events: events, err: err}
	}
}

// Update implements Component.
func (p *eventsPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case eventsMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil {
			p.loaded = true
			p.setEvents(msg.events)
		}
		return p, cmd
	case tea.KeyMsg:
		if p.cur.move(p.c.Keys, msg) {
			return p, nil
		}
		if key.Matches(msg, p.c.Keys.Refresh) && p.poll.refresh() {
			return p, p.fetch()
		}
	}
	return p, nil
}

func (p *eventsPage) setEvents(events []schemas.Event) {
	p.events = events
	p.rows = p.rows[:0]
	for _, e := range events {
		actor := "server"
		if e.ActorUser != nil {
			actor = *e.ActorUser
		}
		targets := make([]string, len(e.Targets))
		for i, t := range e.Targets {
			targets[i] = t.Type + " " + t.Name
		}
		p.rows = append(p.rows, []string{e.RecordedAt.UTC().Format("2006-01-02 15:04:05"), actor,
			strings.Join(targets, ", "), e.Message})
	}
	p.tbl.measure(p.rows)
	p.tbl.layout(p.c.Width - 2)
	p.cur.setLen(len(p.rows))
}

// View implements Component.
func (p *eventsPage) View() string {
	st := p.c.Styles
	title := fmt.Sprintf("Events · %s", p.c.Project)
	if p.loaded {
		title += fmt.Sprintf(" · latest %d", len(p.events))
	}
	lines := []string{st.Header.Render(title)}
	switch {
	case !p.loaded && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "events", p.err)), "\n")
	case !p.loaded:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading events…")), "\n")
	case len(p.events) == 0:
		return strings.Join(append(lines, "", "No events in project "+p.c.Project+" yet."), "\n")
	}
	lines = append(lines, st.Header.Render("  "+p.tbl.header()))
	from, to := p.cur.window()
	for i := from; i < to; i++ {
		mark := "  "
		if i == p.cur.pos {
			mark = "> "
		}
		lines = append(lines, mark+p.tbl.row(p.rows[i], func(col int, s string) string {
			if col == 1 && p.events[i].ActorUser == nil {
				return st.Subtle.Render(s)
			}
			return s
		}))
	}
	return strings.Join(lines, "\n")
}

// ShortHelp implements help.KeyMap.
func (p *eventsPage) ShortHelp() []key.Binding {
	k := p.c.Keys
	return []key.Binding{k.Up, k.Down, k.Refresh}
}

// FullHelp implements help.KeyMap.
func (p *eventsPage) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{k.nav(), {k.Refresh}}
}
