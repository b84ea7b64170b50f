package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// servicesMsg answers the services page's fetch: the project's live runs
// and the traffic of its services.
type servicesMsg struct {
	runs  []schemas.Run
	stats []schemas.ServiceStats
	err   error
}

func (m servicesMsg) callErr() error { return m.err }

// servicesPage lists the project's live services: where they are published,
// their replicas (running, taking requests, scaled to), their traffic and the
// state of their replicas' probes.
type servicesPage struct {
	c      Common
	poll   poller
	runs   []schemas.Run
	stats  map[string]schemas.ServiceStats
	loaded bool
	err    error
}

func newServicesPage(c Common) *servicesPage {
	return &servicesPage{c: c, poll: poller{owner: "services", every: c.Interval}}
}

// Init implements Component.
func (p *servicesPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *servicesPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *servicesPage) SetSize(w, h int) { p.c.SetSize(w, h) }

// Activate implements Page.
func (p *servicesPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *servicesPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var msg servicesMsg
		msg.err = c.call(func(ctx context.Context) (err error) {
			if msg.runs, err = c.Backend.ListRuns(ctx, c.Project, true); err != nil {
				return err
			}
			msg.stats, err = c.Backend.ServiceStats(ctx, c.Project)
			return err
		})
		return msg
	}
}

// Update implements Component.
func (p *servicesPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case servicesMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil {
			p.runs, p.loaded = msg.runs, true
			p.stats = map[string]schemas.ServiceStats{}
			for _, s := range msg.stats {
				p.stats[s.RunName] = s
			}
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
func (p *servicesPage) View() string {
	st := p.c.Styles
	lines := []string{st.Header.Render("Services · " + p.c.Project)}
	switch {
	case !p.loaded && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "services", p.err)), "\n")
	case !p.loaded:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading…")), "\n")
	}
	tbl := newTable(column{title: "NAME", max: 30}, column{title: "STATUS", max: 12}, column{title: "URL", max: 60, flex: true},
		column{title: "REPLICAS", max: 12}, column{title: "RPS 1m", max: 8}, column{title: "PROBES", max: 40, drop: 1})
	var rows [][]string
	for i := range p.runs {
		if row, ok := p.serviceRow(&p.runs[i]); ok {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return strings.Join(append(lines, "", "No live service in this project.",
			st.Subtle.Render("Submit one with `dstack apply` of a `type: service` configuration.")), "\n")
	}
	tbl.measure(rows)
	tbl.layout(p.c.Width)
	lines = append(lines, "", st.Header.Render(tbl.header()))
	for _, r := range rows {
		lines = append(lines, tbl.row(r, nil))
	}
	return strings.Join(append(lines, "",
		st.Subtle.Render("REPLICAS: ready/running/scaled to. PROBES: per running replica, successes in a row / needed.")), "\n")
}

// serviceRow renders a service run; ok is false for other runs.
func (p *servicesPage) serviceRow(r *schemas.Run) ([]string, bool) {
	if len(r.Service) == 0 || string(r.Service) == "null" {
		return nil, false
	}
	var svc schemas.ServiceSpec
	if err := json.Unmarshal(r.Service, &svc); err != nil {
		return nil, false
	}
	url := svc.URL // relative to the server's URL
	running, ready := 0, 0
	var probes []string
	for _, j := range r.Jobs {
		if len(j.JobSubmissions) == 0 {
			continue
		}
		sub := j.JobSubmissions[len(j.JobSubmissions)-1]
		if sub.Status != schemas.JobRunning {
			continue
		}
		running++
		spec := j.JobSpec
		ok := true
		var parts []string
		for k, ps := range spec.Probes {
			need := 1
			if ps.ReadyAfter != nil {
				need = *ps.ReadyAfter
			}
			have := 0
			if k < len(sub.Probes) {
				have = sub.Probes[k].SuccessStreak
			}
			ok = ok && have >= need
			parts = append(parts, fmt.Sprintf("%d/%d", min(have, need), need))
		}
		if ok {
			ready++
		}
		if len(parts) > 0 {
			probes = append(probes, fmt.Sprintf("r%d %s", spec.ReplicaNum, strings.Join(parts, ",")))
		}
	}
	stats := p.stats[runName(r)]
	scaled := "-"
	if stats.DesiredReplicas != nil {
		scaled = fmt.Sprint(*stats.DesiredReplicas)
	}
	probe := strings.Join(probes, " ")
	if probe == "" {
		probe = "-"
	}
	return []string{runName(r), string(r.Status), url, fmt.Sprintf("%d/%d/%s", ready, running, scaled),
		fmt.Sprintf("%.2f", stats.RPS60), probe}, true
}

// ShortHelp implements help.KeyMap.
func (p *servicesPage) ShortHelp() []key.Binding { return []key.Binding{p.c.Keys.Refresh} }

// FullHelp implements help.KeyMap.
func (p *servicesPage) FullHelp() [][]key.Binding { return [][]key.Binding{{p.c.Keys.Refresh}} }
