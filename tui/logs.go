package tui

import (
	"context"
	"encoding/base64"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// logsPollLimit is the most events one logs/poll call returns.
const logsPollLimit = 1000

// logTarget is the job submission whose logs are shown.
type logTarget struct {
	run        string
	job        string
	submission string
	subNum     int
}

// targetOf picks a run's job submission: the latest of job index job, or
// the run's latest submission when job is -1.
func targetOf(r schemas.Run, job int) logTarget {
	t := logTarget{run: runName(&r)}
	var s *schemas.JobSubmission
	switch {
	case job >= 0 && job < len(r.Jobs):
		t.job = r.Jobs[job].JobSpec.JobName
		s = lastSubmission(&r.Jobs[job])
	default:
		s = r.LatestJobSubmission
		if len(r.Jobs) > 0 {
			t.job = r.Jobs[0].JobSpec.JobName
		}
	}
	if s != nil {
		t.submission, t.subNum = s.ID, s.SubmissionNum
	}
	return t
}

// logsMsg answers PollLogs for one target.
type logsMsg struct {
	target logTarget
	logs   *schemas.JobSubmissionLogs
	err    error
}

func (m logsMsg) callErr() error { return m.err }

// logsPage follows a job submission's logs: a bounded buffer, a scroll
// position, and a search.
type logsPage struct {
	c      Common
	poll   poller
	target *logTarget
	buf    *logBuffer
	since  *time.Time // start_time of the next sequence of pages
	last   *time.Time // newest timestamp seen
	next   *string
	top    int
	follow bool
	search input
	query  string
	match  int
	err    error
	loaded bool
}

func newLogsPage(c Common) *logsPage {
	return &logsPage{
		c: c, poll: poller{owner: "logs", every: c.Interval / 2}, buf: newLogBuffer(MaxLogLines),
		follow: true, match: -1, search: input{prompt: "search: "},
	}
}

// Init implements Component.
func (p *logsPage) Init() tea.Cmd { return nil }

// SetSize implements Component.
func (p *logsPage) SetSize(w, h int) {
	p.c.SetSize(w, h)
	p.scroll(0)
}

// Capturing implements Page.
func (p *logsPage) Capturing() bool { return p.search.active }

// Activate implements Page.
func (p *logsPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) && p.target != nil && p.target.submission != "" {
		return p.fetch()
	}
	return nil
}

// open shows t's logs, starting over unless t is already shown.
func (p *logsPage) open(t logTarget) tea.Cmd {
	if p.target != nil && *p.target == t {
		return nil
	}
	p.target = &t
	p.buf.reset()
	p.since, p.last, p.next, p.err, p.loaded = nil, nil, nil, nil, false
	p.top, p.follow, p.match = 0, true, -1
	if t.submission != "" && p.poll.refresh() {
		return p.fetch()
	}
	return nil
}

func (p *logsPage) fetch() tea.Cmd {
	p.poll.begin()
	c, t := p.c, *p.target
	limit := logsPollLimit
	req := schemas.PollLogsRequest{RunName: t.run, JobSubmissionID: t.submission,
		StartTime: p.since, NextToken: p.next, Limit: &limit}
	return func() tea.Msg {
		var out *schemas.JobSubmissionLogs
		err := c.call(func(ctx context.Context) (err error) {
			out, err = c.Backend.PollLogs(ctx, c.Project, req)
			return err
		})
		return logsMsg{target: t, logs: out, err: err}
	}
}

// Update implements Component.
func (p *logsPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case pollTick:
		if p.poll.tick(msg) && p.target != nil && p.target.submission != "" {
			return p, p.fetch()
		}
	case logsMsg:
		if p.target == nil || msg.target != *p.target {
			return p, p.poll.done(nil)
		}
		p.err = msg.err
		if msg.err != nil {
			return p, p.poll.done(msg.err)
		}
		if p.ingest(msg.logs) && p.poll.more() {
			return p, p.fetch()
		}
		return p, p.poll.done(nil)
	case tea.KeyMsg:
		return p, p.key(msg)
	}
	return p, nil
}

// ingest appends a page of events; it reports whether more pages wait.
func (p *logsPage) ingest(l *schemas.JobSubmissionLogs) bool {
	p.loaded = true
	dropped := p.buf.dropped
	for _, e := range l.Logs {
		raw, err := base64.StdEncoding.DecodeString(e.Message)
		if err != nil {
			raw = []byte(e.Message)
		}
		p.buf.write(string(raw))
		ts := e.Timestamp
		p.last = &ts
	}
	if gone := p.buf.dropped - dropped; gone > 0 {
		// Keep a reader's place (and the match) on the same text.
		p.top -= gone
		if p.match >= 0 {
			p.match -= gone
		}
	}
	p.next = l.NextToken
	if p.next == nil {
		p.since = p.last
	}
	p.scroll(0)
	return p.next != nil && len(l.Logs) > 0
}

// height is the number of log lines on screen.
func (p *logsPage) height() int { return max(p.c.Height-2, 1) }

// scroll moves the window by d lines; at the bottom it follows new lines.
func (p *logsPage) scroll(d int) {
	bottom := max(p.buf.len()-p.height(), 0)
	if p.follow {
		p.top = bottom
	}
	if d != 0 {
		p.top = min(max(p.top+d, 0), bottom)
		p.follow = p.top == bottom
	}
	p.top = min(max(p.top, 0), bottom)
}
