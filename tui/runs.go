package tui

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// runsMsg answers ListRuns.
type runsMsg struct {
	runs       []schemas.Run
	onlyActive bool
	err        error
}

func (m runsMsg) callErr() error { return m.err }

// stopMsg answers StopRun.
type stopMsg struct {
	name  string
	abort bool
	err   error
}

func (m stopMsg) callErr() error { return m.err }

// question is a pending y/n confirmation of a stop or an abort.
type question struct {
	name  string
	abort bool
}

// runsPage lists the project's runs live; Enter opens a run's jobs.
type runsPage struct {
	c          Common
	poll       poller
	runs       []schemas.Run
	cells      [][]string // per run, rebuilt on each answer
	view       []int      // indices of the runs passing the filter
	drawn      []string   // rendered rows of view, filled as they are shown
	tbl        *table
	cur        cursor
	onlyActive bool
	filter     input
	ask        *question
	flash      string
	err        error
	loaded     bool
	jobs       *jobsView
}

func newRunsPage(c Common) *runsPage {
	return &runsPage{
		c: c, poll: poller{owner: "runs", every: c.Interval}, tbl: newRunsTable(),
		filter: input{prompt: "filter: "},
	}
}

// Init implements Component.
func (p *runsPage) Init() tea.Cmd { return nil }

// SetSize implements Component.
func (p *runsPage) SetSize(w, h int) {
	p.c.SetSize(w, h)
	p.cur.setHeight(h - 3)
	p.tbl.layout(w - 2)
	p.drawn = nil
	if p.jobs != nil {
		p.jobs.SetSize(w, h)
	}
}

// Capturing implements Page.
func (p *runsPage) Capturing() bool {
	return p.filter.active || p.ask != nil || (p.jobs != nil && p.jobs.Capturing())
}

// Activate implements Page.
func (p *runsPage) Activate(on bool) tea.Cmd {
	if p.jobs != nil {
		return p.jobs.Activate(on)
	}
	if p.poll.activate(on) {
		return p.fetch()
	}
	return nil
}

func (p *runsPage) fetch() tea.Cmd {
	p.poll.begin()
	c, active := p.c, p.onlyActive
	return func() tea.Msg {
		var runs []schemas.Run
		err := c.call(func(ctx context.Context) (err error) {
			runs, err = c.Backend.ListRuns(ctx, c.Project, active)
			return err
		})
		return runsMsg{runs: runs, onlyActive: active, err: err}
	}
}

// Update implements Component.
func (p *runsPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) {
			return p, p.fetch()
		}
	case runsMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if msg.err == nil && msg.onlyActive == p.onlyActive {
			p.loaded = true
			p.setRuns(msg.runs)
		}
		return p, cmd
	case stopMsg:
		verb := map[bool]string{false: "stop", true: "abort"}[msg.abort]
		p.flash = fmt.Sprintf("%s requested for %s", verb, msg.name)
		if msg.err != nil {
			p.flash = fmt.Sprintf("could not %s %s: %v", verb, msg.name, msg.err)
		}
		return p, p.refresh()
	case tea.KeyMsg:
		return p, p.key(msg)
	}
	if p.jobs != nil {
		_, cmd := p.jobs.Update(msg)
		return p, cmd
	}
	return p, nil
}

func (p *runsPage) refresh() tea.Cmd {
	if p.jobs == nil && p.poll.refresh() {
		return p.fetch()
	}
	return nil
}

func (p *runsPage) key(msg tea.KeyMsg) tea.Cmd {
	km := p.c.Keys
	switch {
	case p.jobs != nil:
		return p.jobsKey(msg)
	case p.filter.active:
		p.filter.update(msg)
		p.applyFilter()
		return nil
	case p.ask != nil:
		return p.answer(msg)
	}
	p.flash = ""
	if p.cur.move(km, msg) {
		return nil
	}
	sel := p.selected()
	switch {
	case key.Matches(msg, km.Filter):
		p.filter.active = true
	case key.Matches(msg, km.Cancel) && p.filter.value != "":
		p.filter.value = ""
		p.applyFilter()
	case key.Matches(msg, km.ToggleActive):
		p.onlyActive = !p.onlyActive
		p.loaded = false
		return p.refresh()
	case key.Matches(msg, km.Refresh):
		return p.refresh()
	case sel == nil:
	case key.Matches(msg, km.Open):
		return p.openJobs(runName(sel))
	case key.Matches(msg, km.Logs):
		t := targetOf(*sel, -1)
		return func() tea.Msg { return openLogsMsg{target: t} }
	case key.Matches(msg, km.Stop), key.Matches(msg, km.Abort):
		if sel.Status.Finished() {
			p.flash = runName(sel) + " has already finished"
			return nil
		}
		p.ask = &question{name: runName(sel), abort: key.Matches(msg, km.Abort)}
	}
	return nil
}

// answer handles the y/n of a stop or abort question.
func (p *runsPage) answer(msg tea.KeyMsg) tea.Cmd {
	km := p.c.Keys
	q := p.ask
	switch {
	case key.Matches(msg, km.Yes):
		p.ask = nil
		p.flash = "stopping " + q.name + "…"
		c := p.c
		return func() tea.Msg {
			err := c.call(func(ctx context.Context) error { return c.Backend.StopRun(ctx, c.Project, q.name, q.abort) })
			return stopMsg{name: q.name, abort: q.abort, err: err}
		}
	case key.Matches(msg, km.No):
		p.ask = nil
		p.flash = "cancelled"
	}
	return nil
}

func (p *runsPage) openJobs(name string) tea.Cmd {
	p.poll.activate(false)
	p.jobs = newJobsView(p.c, name)
	return p.jobs.Activate(true)
}

func (p *runsPage) jobsKey(msg tea.KeyMsg) tea.Cmd {
	if !p.jobs.Capturing() && key.Matches(msg, p.c.Keys.Back) {
		p.jobs.Activate(false)
		p.jobs = nil
		return p.Activate(true)
	}
	_, cmd := p.jobs.Update(msg)
	return cmd
}

// selected returns the run under the cursor, nil when there is none.
func (p *runsPage) selected() *schemas.Run {
	if p.cur.pos < 0 || p.cur.pos >= len(p.view) {
		return nil
	}
	return &p.runs[p.view[p.cur.pos]]
}

// selectedTarget is the logs target of the selected run (or of the open
// run's selected job).
func (p *runsPage) selectedTarget() (logTarget, bool) {
	if p.jobs != nil && p.jobs.run != nil {
		return targetOf(*p.jobs.run, p.jobs.cur.pos), true
	}
	if r := p.selected(); r != nil {
		return targetOf(*r, -1), true
	}
	return logTarget{}, false
}

func runName(r *schemas.Run) string {
	if r.RunSpec.RunName != nil {
		return *r.RunSpec.RunName
	}
	return r.ID
}
