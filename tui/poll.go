package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// result is implemented by every message that carries a call's outcome, so
// the root can watch the connection without knowing the pages.
type result interface{ callErr() error }

// pollTick asks a page's loop for its next call; ticks of an older
// generation are dropped.
type pollTick struct {
	owner string
	gen   int
}

// maxBackoff caps the retry delay while the server is lost.
const maxBackoff = 30 * time.Second

// poller drives one page's refresh loop: a call, its answer, a pause, the
// next call — one call in flight at a time, paused while the page is hidden,
// slower and slower while calls fail (a lost server, a missing route).
type poller struct {
	owner    string
	every    time.Duration
	gen      int
	active   bool
	inflight bool
	failures int
}

// activate starts or pauses the loop; it reports whether to call now.
func (p *poller) activate(on bool) bool {
	p.active = on
	p.gen++
	return on && !p.inflight
}

// tick reports whether msg is this loop's current tick and a call is due.
func (p *poller) tick(msg pollTick) bool {
	return msg.owner == p.owner && msg.gen == p.gen && p.active && !p.inflight
}

// begin marks a call in flight.
func (p *poller) begin() { p.inflight = true }

// done records a call's outcome and schedules the next one after the delay.
func (p *poller) done(err error) tea.Cmd {
	p.inflight = false
	if err != nil {
		p.failures++
	} else {
		p.failures = 0
	}
	if !p.active {
		return nil
	}
	msg := pollTick{owner: p.owner, gen: p.gen}
	return tea.Tick(p.delay(), func(time.Time) tea.Msg { return msg })
}

// delay is the pause before the next call: the period, doubled for each
// failure in a row, up to maxBackoff.
func (p *poller) delay() time.Duration {
	d := p.every
	for i := 0; i < p.failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// more records a successful call whose answer said more data waits: it
// reports whether to call again at once (paged reads).
func (p *poller) more() bool {
	p.inflight, p.failures = false, 0
	return p.active
}

// refresh reports whether a call may start now, out of turn; the pending
// tick is dropped so that the loop stays single.
func (p *poller) refresh() bool {
	if p.inflight || !p.active {
		return false
	}
	p.gen++
	return true
}
