package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// ProjectBackends are the backends configured in one project.
type ProjectBackends struct {
	Project  string
	Backends []BackendRow
}

// BackendRow is a configured backend as the console shows it: its type,
// its regions (none: every region the backend offers) and the other
// settings of its configuration (credentials are never sent).
type BackendRow struct {
	Type    string
	Regions []string
	Config  json.RawMessage
}

// backendsMsg answers ListBackends.
type backendsMsg struct {
	projects []ProjectBackends
	err      error
}

func (m backendsMsg) callErr() error { return m.err }

// backendsPage lists the backends of every project the user sees:
// read-only, as they are changed in config.yml, over the API or with
// `dstack admin backends`.
type backendsPage struct {
	c        Common
	poll     poller
	projects []ProjectBackends
	loaded   bool
	err      error
}

func newBackendsPage(c Common) *backendsPage {
	return &backendsPage{c: c, poll: poller{owner: "backends", every: 2 * c.Interval}}
}

// Init implements Component.
func (p *backendsPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *backendsPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *backendsPage) SetSize(w, h int) { p.c.SetSize(w, h) }

// Activate implements Page.
func (p *backendsPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *backendsPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var out []ProjectBackends
		err := c.call(func(ctx context.Context) (err error) { out, err = c.Backend.ListBackends(ctx); return err })
		return backendsMsg{projects: out, err: err}
	}
}

// Update implements Component.
func (p *backendsPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case backendsMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil {
			p.projects, p.loaded = msg.projects, true
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
func (p *backendsPage) View() string {
	st := p.c.Styles
	lines := []string{st.Header.Render("Backends · per project, read-only")}
	switch {
	case !p.loaded && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "backends", p.err)), "\n")
	case !p.loaded:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading…")), "\n")
	}
	tbl := newTable(column{title: "PROJECT", max: 20}, column{title: "TYPE", max: 12}, column{title: "REGIONS", max: 40},
		column{title: "SETTINGS", max: 80, flex: true})
	var rows [][]string
	for _, pb := range p.projects {
		for _, b := range pb.Backends {
			regions := "all"
			if len(b.Regions) > 0 {
				regions = strings.Join(b.Regions, ", ")
			}
			rows = append(rows, []string{pb.Project, b.Type, regions, settings(b.Config)})
		}
	}
	if len(rows) == 0 {
		return strings.Join(append(lines, "", "No project has a backend: offers come from SSH fleets only.",
			st.Subtle.Render("Add one in config.yml (projects[].backends) or with `dstack admin backends set`.")), "\n")
	}
	tbl.measure(rows)
	tbl.layout(p.c.Width)
	lines = append(lines, "", st.Header.Render(tbl.header()))
	for _, r := range rows {
		lines = append(lines, tbl.row(r, nil))
	}
	return strings.Join(append(lines, "", st.Subtle.Render("Change them in config.yml or with `dstack admin backends set|delete`.")), "\n")
}

// settings renders a backend configuration's fields other than type and
// regions, sorted: scalars as they are, lists and objects compactly.
func settings(raw json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if k == "type" || k == "regions" || k == "creds" || string(v) == "null" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		var s string
		if json.Unmarshal(fields[k], &s) == nil {
			parts = append(parts, k+"="+s)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%s", k, fields[k]))
	}
	return strings.Join(parts, " ")
}

// ShortHelp implements help.KeyMap.
func (p *backendsPage) ShortHelp() []key.Binding { return []key.Binding{p.c.Keys.Refresh} }

// FullHelp implements help.KeyMap.
func (p *backendsPage) FullHelp() [][]key.Binding { return [][]key.Binding{{p.c.Keys.Refresh}} }
