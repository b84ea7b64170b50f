package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"

	"github.com/dstackgo/dstack/server/schemas"
)

// Runs table columns, in cell order.
const (
	runColName = iota
	runColType
	runColStatus
	runColFleet
	runColResources
	runColSubmitted
	runColDuration
	runColCost
)

func newRunsTable() *table {
	return newTable(
		column{title: "NAME", max: 32, min: 20, flex: true},
		column{title: "TYPE", max: 15, drop: 4},
		column{title: "STATUS", max: 16},
		column{title: "FLEET/INSTANCE", max: 24, drop: 5},
		column{title: "RESOURCES", max: 32, drop: 6},
		column{title: "SUBMITTED", max: 12, drop: 1},
		column{title: "DURATION", max: 9, drop: 3},
		column{title: "COST", max: 9, drop: 2},
	)
}

// setRuns replaces the runs, keeping the selected run selected.
func (p *runsPage) setRuns(runs []schemas.Run) {
	keep := ""
	if r := p.selected(); r != nil {
		keep = r.ID
	}
	now := p.c.Now()
	p.runs = runs
	p.cells = make([][]string, len(runs))
	for i := range runs {
		p.cells[i] = runCells(now, &runs[i])
	}
	p.applyFilter()
	for i, idx := range p.view {
		if runs[idx].ID == keep {
			p.cur.pos = i
			p.cur.clamp()
			break
		}
	}
}

// applyFilter recomputes the visible runs and the column widths.
func (p *runsPage) applyFilter() {
	q := strings.ToLower(p.filter.value)
	p.view = p.view[:0]
	rows := make([][]string, 0, len(p.runs))
	for i, cells := range p.cells {
		if q == "" || strings.Contains(strings.ToLower(strings.Join(cells, " ")+" "+p.runs[i].User), q) {
			p.view = append(p.view, i)
			rows = append(rows, cells)
		}
	}
	p.tbl.measure(rows)
	p.tbl.layout(p.c.Width - 2)
	p.drawn = nil
	p.cur.setLen(len(p.view))
}

// runCells renders a run's table cells.
func runCells(now time.Time, r *schemas.Run) []string {
	sub := r.LatestJobSubmission
	status := string(r.Status)
	if r.StatusMessage != "" {
		status = r.StatusMessage
	}
	end := now
	if r.Status.Finished() {
		end = r.LastProcessedAt
		if sub != nil && sub.FinishedAt != nil {
			end = *sub.FinishedAt
		}
	}
	typ := r.RunSpec.Configuration.Type()
	if typ == "" {
		typ = "-"
	}
	return []string{
		runName(r), typ, status, placement(r), resources(submissionResources(sub)),
		ago(now, r.SubmittedAt), dur(end.Sub(r.SubmittedAt)), cost(r.Cost),
	}
}

// placement is "fleet/instance" of a run's latest submission.
func placement(r *schemas.Run) string {
	var parts []string
	if r.Fleet != nil {
		parts = append(parts, r.Fleet.Name)
	}
	if s := r.LatestJobSubmission; s != nil && s.JobProvisioningData != nil {
		id := s.JobProvisioningData.InstanceID
		if len(parts) == 1 && strings.HasPrefix(id, parts[0]+"-") {
			parts = parts[:0]
		}
		parts = append(parts, id)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "/")
}

// View implements Component.
func (p *runsPage) View() string {
	if p.jobs != nil {
		return p.jobs.View()
	}
	st := p.c.Styles
	lines := []string{p.title()}
	if msg := p.empty(); msg != "" {
		return strings.Join(append(lines, "", msg, "", p.status()), "\n")
	}
	lines = append(lines, st.Header.Render("  "+p.tbl.header()))
	from, to := p.cur.window()
	for i := from; i < to; i++ {
		if i == p.cur.pos {
			plain := p.tbl.row(p.cells[p.view[i]], nil)
			lines = append(lines, "> "+st.Selected.Render(plain))
			continue
		}
		lines = append(lines, "  "+p.row(i))
	}
	for len(lines) < p.c.Height-1 {
		lines = append(lines, "")
	}
	return strings.Join(append(lines, p.status()), "\n")
}

// row renders visible row i once per data or size change: lipgloss is
// the costly part of drawing.
func (p *runsPage) row(i int) string {
	if len(p.drawn) != len(p.view) {
		p.drawn = make([]string, len(p.view))
	}
	if p.drawn[i] == "" {
		r := &p.runs[p.view[i]]
		p.drawn[i] = p.tbl.row(p.cells[p.view[i]], func(col int, s string) string {
			if col == runColStatus {
				return p.c.Styles.runStatus(r.Status).Render(s)
			}
			return s
		})
	}
	return p.drawn[i]
}

func (p *runsPage) title() string {
	scope := "all runs (a: active only)"
	if p.onlyActive {
		scope = "active runs (a: all)"
	}
	t := fmt.Sprintf("Runs · %s · %s", p.c.Project, scope)
	if p.loaded {
		t += fmt.Sprintf(" · %d shown", len(p.view))
		if len(p.runs) == runsPageSize {
			t += " (newest 100)"
		}
	}
	if p.filter.value != "" && !p.filter.active {
		t += fmt.Sprintf(" · filter %q (esc clears)", p.filter.value)
	}
	return p.c.Styles.Header.Render(t)
}

// empty explains an empty list; "" when there are rows to show.
func (p *runsPage) empty() string {
	st := p.c.Styles
	switch {
	case !p.loaded && p.err != nil:
		return explain(st, "runs", p.err)
	case !p.loaded:
		return st.Subtle.Render("Loading runs…")
	case len(p.runs) == 0 && p.onlyActive:
		return "No active runs in project " + p.c.Project + ". Press a to show all runs."
	case len(p.runs) == 0:
		return "No runs in project " + p.c.Project + " yet: `dstack apply` submits one."
	case len(p.view) == 0:
		return fmt.Sprintf("No run matches %q. Press esc to clear the filter.", p.filter.value)
	}
	return ""
}

// status is the page's last line: the question, the filter being typed, or
// the outcome of the last action.
func (p *runsPage) status() string {
	st := p.c.Styles
	switch {
	case p.ask != nil && p.ask.abort:
		return st.Warn.Render(fmt.Sprintf("Abort run %s now, without a graceful stop? (y/n)", p.ask.name))
	case p.ask != nil:
		return st.Warn.Render(fmt.Sprintf("Stop run %s? (y/n)", p.ask.name))
	case p.filter.active:
		return p.filter.view()
	case p.flash != "":
		return st.Info.Render(p.flash)
	}
	return ""
}

// ShortHelp implements help.KeyMap.
func (p *runsPage) ShortHelp() []key.Binding {
	if p.jobs != nil {
		return p.jobs.ShortHelp()
	}
	k := p.c.Keys
	return []key.Binding{k.Open, k.Logs, k.Filter, k.ToggleActive, k.Stop, k.Abort}
}

// FullHelp implements help.KeyMap.
func (p *runsPage) FullHelp() [][]key.Binding {
	if p.jobs != nil {
		return p.jobs.FullHelp()
	}
	k := p.c.Keys
	return [][]key.Binding{k.nav(), {k.Open, k.Back, k.Logs, k.Filter, k.Cancel, k.ToggleActive, k.Stop, k.Abort}}
}
