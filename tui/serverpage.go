package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// serverStatusMsg answers ServerStatus.
type serverStatusMsg struct {
	status *schemas.ServerStatus
	err    error
}

func (m serverStatusMsg) callErr() error { return m.err }

// serverPage shows the server's version, storage, uptime and pipelines'
// backlog; where that route is missing or forbidden, what the console knows.
type serverPage struct {
	c      Common
	poll   poller
	status *schemas.ServerStatus
	ident  *Identity
	err    error
}

func newServerPage(c Common) *serverPage {
	return &serverPage{c: c, poll: poller{owner: "server", every: c.Interval}}
}

// Init implements Component.
func (p *serverPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *serverPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *serverPage) SetSize(w, h int) { p.c.SetSize(w, h) }

// Activate implements Page.
func (p *serverPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *serverPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var st *schemas.ServerStatus
		err := c.call(func(ctx context.Context) (err error) { st, err = c.Backend.ServerStatus(ctx); return err })
		return serverStatusMsg{status: st, err: err}
	}
}

// Update implements Component.
func (p *serverPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case identityMsg:
		if msg.err == nil {
			p.ident = msg.id
		}
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case serverStatusMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil {
			p.status = msg.status
		}
		return p, cmd
	case tea.KeyMsg:
		if key.Matches(msg, p.c.Keys.Refresh) && p.poll.refresh() {
			return p, p.fetch()
		}
	}
	return p, nil
}

// View implements Component.
func (p *serverPage) View() string {
	st := p.c.Styles
	lines := []string{st.Header.Render("Server")}
	if p.status == nil {
		return strings.Join(append(lines, p.known()...), "\n")
	}
	s := p.status
	kv := func(k, v string) string { return fmt.Sprintf("  %-13s %s", k, v) }
	lines = append(lines,
		kv("version", fmt.Sprintf("%s (API %s)", s.Version, s.CompatibleVersion)),
		kv("database", s.Database),
		kv("log storage", s.LogStorage),
		kv("uptime", fmt.Sprintf("%s (since %s)", dur(time.Duration(s.UptimeSeconds*float64(time.Second))), s.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))))
	if r := s.Replication; r != nil {
		line := kv("replica", fmt.Sprintf("%s, lag %s (transaction %d of %d)", r.URL,
			dur(time.Duration(r.LagSeconds*float64(time.Second))), r.ReplicaTXID, r.LocalTXID))
		if r.Error != "" {
			line += ": " + r.Error
		}
		if r.LagSeconds >= 60 || r.Error != "" {
			line = st.Warn.Render(line)
		}
		lines = append(lines, line)
	}
	lines = append(lines, "")
	if p.ident != nil {
		lines = append(lines[:1], append([]string{kv("url", p.ident.ServerURL)}, lines[1:]...)...)
	}
	tbl := newTable(column{title: "PIPELINE", max: 40, flex: true}, column{title: "BACKLOG", max: 8}, column{title: "OLDEST WAITING", max: 14})
	rows := make([][]string, 0, len(s.Pipelines))
	for _, pl := range s.Pipelines {
		rows = append(rows, []string{pl.Name, fmt.Sprint(pl.Backlog), dur(time.Duration(pl.LagSeconds * float64(time.Second)))})
	}
	tbl.measure(rows)
	tbl.layout(p.c.Width - 2)
	lines = append(lines, st.Header.Render("  "+tbl.header()))
	for i, r := range rows {
		row := tbl.row(r, nil)
		if s.Pipelines[i].LagSeconds >= 60 {
			row = st.Warn.Render(row)
		}
		lines = append(lines, "  "+row)
	}
	if len(rows) == 0 {
		lines = append(lines, st.Subtle.Render("  no pipelines reported"))
	}
	return strings.Join(lines, "\n")
}

// known is what the console can say without the status route.
func (p *serverPage) known() []string {
	st := p.c.Styles
	var out []string
	switch {
	case p.err == nil:
		out = append(out, st.Subtle.Render("Loading…"))
	case errors.Is(p.err, ErrForbidden):
		out = append(out, "The server's status is for admins only; what the console knows:")
	case errors.Is(p.err, ErrNotAvailable):
		out = append(out, "This server does not report its status; what the console knows:")
	default:
		out = append(out, explain(st, "server status", p.err))
	}
	if p.ident != nil {
		v := p.ident.ServerVersion
		if v == "" {
			v = "unknown (development build)"
		}
		out = append(out, "", "  url       "+p.ident.ServerURL, "  user      "+p.ident.Username, "  version   "+v)
	}
	out = append(out, "  project   "+p.c.Project)
	return out
}

// ShortHelp implements help.KeyMap.
func (p *serverPage) ShortHelp() []key.Binding { return []key.Binding{p.c.Keys.Refresh} }

// FullHelp implements help.KeyMap.
func (p *serverPage) FullHelp() [][]key.Binding { return [][]key.Binding{{p.c.Keys.Refresh}} }
