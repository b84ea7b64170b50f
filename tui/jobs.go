package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// runMsg answers GetRun.
type runMsg struct {
	name string
	run  *schemas.Run
	err  error
}

func (m runMsg) callErr() error { return m.err }

// jobsView shows one run's jobs, live; it lives inside the Runs page.
type jobsView struct {
	c     Common
	poll  poller
	name  string
	run   *schemas.Run
	err   error
	tbl   *table
	cells [][]string
	cur   cursor
}

func newJobsView(c Common, name string) *jobsView {
	return &jobsView{
		c: c, name: name, poll: poller{owner: "jobs", every: c.Interval},
		tbl: newTable(
			column{title: "JOB", max: 32},
			column{title: "SUB", max: 4, drop: 3},
			column{title: "STATUS", max: 20},
			column{title: "INSTANCE", max: 28, drop: 4},
			column{title: "RESOURCES", max: 40, drop: 5},
			column{title: "SUBMITTED", max: 12, drop: 1},
			column{title: "EXIT", max: 40, min: 12, flex: true, drop: 2},
		),
	}
}

// Init implements Component.
func (v *jobsView) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (v *jobsView) Capturing() bool { return false }

// SetSize implements Component.
func (v *jobsView) SetSize(w, h int) {
	v.c.SetSize(w, h)
	v.cur.setHeight(h - 6)
	v.tbl.layout(w - 2)
}

// Activate implements Page.
func (v *jobsView) Activate(on bool) tea.Cmd {
	if v.poll.activate(on) {
		return v.fetch()
	}
	return nil
}

func (v *jobsView) fetch() tea.Cmd {
	v.poll.begin()
	c, name := v.c, v.name
	return func() tea.Msg {
		var run *schemas.Run
		err := c.call(func(ctx context.Context) (err error) {
			run, err = c.Backend.GetRun(ctx, c.Project, name)
			return err
		})
		return runMsg{name: name, run: run, err: err}
	}
}

// Update implements Component.
func (v *jobsView) Update(msg tea.Msg) (Component, tea.Cmd) {
	km := v.c.Keys
	switch msg := msg.(type) {
	case pollTick:
		if v.poll.tick(msg) {
			return v, v.fetch()
		}
	case runMsg:
		if msg.name != v.name {
			return v, nil
		}
		cmd := v.poll.done(msg.err)
		v.err = msg.err
		if msg.err == nil {
			v.setRun(msg.run)
		}
		return v, cmd
	case tea.KeyMsg:
		switch {
		case v.cur.move(km, msg):
		case key.Matches(msg, km.Logs) && v.run != nil:
			t := targetOf(*v.run, v.cur.pos)
			return v, func() tea.Msg { return openLogsMsg{target: t} }
		case key.Matches(msg, km.Refresh) && v.poll.refresh():
			return v, v.fetch()
		}
	}
	return v, nil
}

func (v *jobsView) setRun(r *schemas.Run) {
	v.run = r
	now := v.c.Now()
	v.cells = make([][]string, len(r.Jobs))
	for i := range r.Jobs {
		v.cells[i] = jobCells(now, &r.Jobs[i])
	}
	v.tbl.measure(v.cells)
	v.tbl.layout(v.c.Width - 2)
	v.cur.setLen(len(r.Jobs))
}

// lastSubmission is a job's newest submission, nil before the first.
func lastSubmission(j *schemas.Job) *schemas.JobSubmission {
	if len(j.JobSubmissions) == 0 {
		return nil
	}
	return &j.JobSubmissions[len(j.JobSubmissions)-1]
}

func jobCells(now time.Time, j *schemas.Job) []string {
	s := lastSubmission(j)
	if s == nil {
		return []string{j.JobSpec.JobName, "-", "-", "-", "-", "-", "-"}
	}
	status := string(s.Status)
	if s.StatusMessage != "" && s.StatusMessage != status {
		status += " (" + s.StatusMessage + ")"
	}
	inst := "-"
	if d := s.JobProvisioningData; d != nil {
		inst = fmt.Sprintf("%s %s %s", d.Backend, d.Region, orDash(d.Hostname))
	}
	exit := "-"
	switch {
	case s.ExitStatus != nil:
		exit = fmt.Sprintf("exit %d", *s.ExitStatus)
	case s.TerminationReason != nil:
		exit = *s.TerminationReason
	}
	return []string{j.JobSpec.JobName, fmt.Sprint(s.SubmissionNum), status, inst,
		resources(submissionResources(s)), ago(now, s.SubmittedAt), exit}
}

// View implements Component.
func (v *jobsView) View() string {
	st := v.c.Styles
	lines := []string{st.Header.Render("Run " + v.name + " · esc back to the runs")}
	switch {
	case v.run == nil && v.err != nil:
		return strings.Join(append(lines, "", explain(st, "run", v.err)), "\n")
	case v.run == nil:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading…")), "\n")
	}
	r := v.run
	status := string(r.Status)
	if r.Error != nil && *r.Error != "" {
		status += " (" + *r.Error + ")"
	}
	lines = append(lines, fmt.Sprintf("%s · %s · by %s · submitted %s · cost %s",
		st.runStatus(r.Status).Render(status), r.RunSpec.Configuration.Type(), r.User,
		ago(v.c.Now(), r.SubmittedAt), cost(r.Cost)))
	lines = append(lines, st.Header.Render("  "+v.tbl.header()))
	from, to := v.cur.window()
	for i := from; i < to; i++ {
		mark := "  "
		if i == v.cur.pos {
			mark = "> "
		}
		s := lastSubmission(&r.Jobs[i])
		lines = append(lines, mark+v.tbl.row(v.cells[i], func(col int, c string) string {
			if col == 2 && s != nil {
				return st.jobStatus(s.Status).Render(c)
			}
			return c
		}))
	}
	for len(lines) < v.c.Height-3 {
		lines = append(lines, "")
	}
	return strings.Join(append(lines, v.details()...), "\n")
}

// details are three lines about the selected job's latest submission.
func (v *jobsView) details() []string {
	st := v.c.Styles
	if v.cur.pos >= len(v.run.Jobs) {
		return []string{"", "", ""}
	}
	s := lastSubmission(&v.run.Jobs[v.cur.pos])
	if s == nil {
		return []string{"", st.Subtle.Render("No submission yet."), ""}
	}
	msg := "-"
	if s.TerminationReasonMessage != nil {
		msg = *s.TerminationReasonMessage
	} else if s.Error != nil {
		msg = *s.Error
	}
	return []string{
		st.Subtle.Render("submission " + s.ID),
		"message: " + msg,
		st.Subtle.Render("l: logs of this job"),
	}
}

// ShortHelp implements help.KeyMap.
func (v *jobsView) ShortHelp() []key.Binding {
	k := v.c.Keys
	return []key.Binding{k.Up, k.Down, k.Logs, k.Back, k.Refresh}
}

// FullHelp implements help.KeyMap.
func (v *jobsView) FullHelp() [][]key.Binding {
	k := v.c.Keys
	return [][]key.Binding{k.nav(), {k.Logs, k.Back, k.Refresh}}
}
