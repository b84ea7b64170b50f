package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// fleetsMsg answers ListFleets.
type fleetsMsg struct {
	fleets []schemas.Fleet
	err    error
}

func (m fleetsMsg) callErr() error { return m.err }

// fleetsPage lists fleets with their instances under them, live.
type fleetsPage struct {
	c      Common
	poll   poller
	fleets []schemas.Fleet
	rows   [][]string
	status []string // what colours each row's status cell
	tbl    *table
	cur    cursor
	err    error
	loaded bool
}

func newFleetsPage(c Common) *fleetsPage {
	return &fleetsPage{
		c: c, poll: poller{owner: "fleets", every: c.Interval},
		tbl: newTable(
			column{title: "FLEET / INSTANCE", max: 32},
			column{title: "STATUS", max: 14},
			column{title: "HOST", max: 22, drop: 3},
			column{title: "RESOURCES", max: 40, drop: 5},
			column{title: "BLOCKS", max: 7, drop: 2},
			column{title: "HEALTH", max: 12, drop: 1},
			column{title: "MESSAGE", max: 80, min: 12, flex: true, drop: 4},
		),
	}
}

// Init implements Component.
func (p *fleetsPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *fleetsPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *fleetsPage) SetSize(w, h int) {
	p.c.SetSize(w, h)
	p.cur.setHeight(h - 2)
	p.tbl.layout(w - 2)
}

// Activate implements Page.
func (p *fleetsPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *fleetsPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var fleets []schemas.Fleet
		err := c.call(func(ctx context.Context) (err error) {
			fleets, err = c.Backend.ListFleets(ctx, c.Project)
			return err
		})
		return fleetsMsg{fleets: fleets, err: err}
	}
}

// Update implements Component.
func (p *fleetsPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case fleetsMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil {
			p.loaded = true
			p.setFleets(msg.fleets)
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

func (p *fleetsPage) setFleets(fleets []schemas.Fleet) {
	p.fleets = fleets
	p.rows, p.status = p.rows[:0], p.status[:0]
	for _, f := range fleets {
		msg := orDash(f.StatusMessage)
		p.rows = append(p.rows, []string{f.Name, string(f.Status), "", "", "", "", msg})
		p.status = append(p.status, string(f.Status))
		for i := range f.Instances {
			in := &f.Instances[i]
			st := string(in.Status)
			if in.Unreachable {
				st = "unreachable"
			}
			p.rows = append(p.rows, instanceCells(in, st))
			p.status = append(p.status, st)
		}
	}
	p.tbl.measure(p.rows)
	p.tbl.layout(p.c.Width - 2)
	p.cur.setLen(len(p.rows))
}

func instanceCells(in *schemas.Instance, status string) []string {
	var res *schemas.Resources
	if in.InstanceType != nil {
		res = &in.InstanceType.Resources
	}
	blocks := "-"
	if in.TotalBlocks != nil {
		blocks = fmt.Sprintf("%d/%d", in.BusyBlocks, *in.TotalBlocks)
	}
	health := in.HealthStatus
	if health == "" {
		health = "-"
	}
	msg := orDash(in.StatusMessage)
	if msg == "-" && in.TerminationReason != nil {
		msg = *in.TerminationReason
	}
	return []string{"  " + in.Name, status, orDash(in.Hostname), resources(res), blocks, health, msg}
}

// View implements Component.
func (p *fleetsPage) View() string {
	st := p.c.Styles
	title := fmt.Sprintf("Fleets · %s", p.c.Project)
	if p.loaded {
		title += fmt.Sprintf(" · %d fleets", len(p.fleets))
	}
	lines := []string{st.Header.Render(title)}
	switch {
	case !p.loaded && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "fleets", p.err)), "\n")
	case !p.loaded:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading fleets…")), "\n")
	case len(p.fleets) == 0:
		return strings.Join(append(lines, "", "No fleets in project "+p.c.Project+": `dstack apply -f fleet.dstack.yml` creates one."), "\n")
	}
	lines = append(lines, st.Header.Render("  "+p.tbl.header()))
	from, to := p.cur.window()
	for i := from; i < to; i++ {
		mark := "  "
		if i == p.cur.pos {
			mark = "> "
		}
		status := p.status[i]
		lines = append(lines, mark+p.tbl.row(p.rows[i], func(col int, s string) string {
			switch col {
			case 1:
				return st.instanceStatus(status).Render(s)
			case 5:
				return st.instanceStatus(strings.TrimSpace(s)).Render(s)
			}
			return s
		}))
	}
	return strings.Join(lines, "\n")
}

// ShortHelp implements help.KeyMap.
func (p *fleetsPage) ShortHelp() []key.Binding {
	k := p.c.Keys
	return []key.Binding{k.Up, k.Down, k.Refresh}
}

// FullHelp implements help.KeyMap.
func (p *fleetsPage) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{k.nav(), {k.Refresh}}
}
