package tui

import (
	"context"
	"errors"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// page names a top-level page; the number keys follow this order.
type page int

const (
	pageRuns page = iota
	pageFleets
	pageLogs
	pageKeys
	pageServer
	pageEvents
	pageBackends
	pageServices
	pageCount
)

var pageNames = [pageCount]string{"Runs", "Fleets", "Logs", "Keys", "Server", "Events", "Backends", "Services"}

// identityMsg answers Whoami.
type identityMsg struct {
	id  *Identity
	err error
}

func (m identityMsg) callErr() error { return m.err }

// openLogsMsg asks for the Logs page on a run (job -1: its latest
// submission; otherwise the index of the job in run.Jobs).
type openLogsMsg struct {
	target logTarget
}

// Model is the console's root: the page enum, the shared chrome (header,
// tabs, lost-server banner, footer, help) and the message routing.
type Model struct {
	c      Common
	pages  [pageCount]Page
	runs   *runsPage
	logs   *logsPage
	active page
	help   bool
	// lost is the last "server unreachable" error, nil while it answers.
	lost     error
	failures int
	ident    *Identity
}

// New returns the root model over c; run it with tea.NewProgram.
func New(c Common) *Model {
	m := &Model{c: c}
	m.runs = newRunsPage(c)
	m.logs = newLogsPage(c)
	m.pages = [pageCount]Page{m.runs, newFleetsPage(c), m.logs, newKeysPage(c), newServerPage(c), newEventsPage(c), newBackendsPage(c), newServicesPage(c)}
	m.resize()
	return m
}

// Init asks who we are and starts the first page's refresh loop.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.whoami(), m.pages[m.active].Activate(true))
}

func (m *Model) whoami() tea.Cmd {
	c := m.c
	return func() tea.Msg {
		var id *Identity
		err := c.call(func(ctx context.Context) (err error) { id, err = c.Backend.Whoami(ctx); return err })
		return identityMsg{id: id, err: err}
	}
}

// Update routes msg: keys to the active page (after the global ones),
// everything else to every page, which ignore what is not theirs.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.SetSize(msg.Width, msg.Height)
		m.resize()
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case openLogsMsg:
		return m, tea.Batch(m.switchTo(pageLogs), m.logs.open(msg.target))
	case identityMsg:
		if msg.err == nil {
			m.ident = msg.id
		}
	}
	if r, ok := msg.(result); ok {
		cmds = append(cmds, m.track(r.callErr()))
	}
	for _, p := range m.pages {
		_, cmd := p.Update(msg)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// track raises and clears the lost-server banner.
func (m *Model) track(err error) tea.Cmd {
	if errors.Is(err, ErrUnreachable) {
		if m.lost == nil {
			m.c.Logger.Warn("console lost the server", "err", err)
		}
		m.lost = err
		m.failures++
		m.resize()
		return nil
	}
	if m.lost == nil {
		return nil
	}
	m.c.Logger.Info("console reached the server again", "after_failures", m.failures)
	m.lost, m.failures = nil, 0
	m.resize()
	if m.ident == nil {
		return m.whoami()
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	km := m.c.Keys
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if m.help {
		m.help = false
		if msg.String() == "q" {
			return tea.Quit
		}
		return nil
	}
	p := m.pages[m.active]
	if p.Capturing() {
		_, cmd := p.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, km.Quit):
		return tea.Quit
	case key.Matches(msg, km.Help):
		m.help = true
		return nil
	case key.Matches(msg, km.NextPage):
		return m.switchTo((m.active + 1) % pageCount)
	case key.Matches(msg, km.PrevPage):
		return m.switchTo((m.active + pageCount - 1) % pageCount)
	}
	for i, b := range km.Pages {
		if key.Matches(msg, b) {
			return m.switchTo(page(i))
		}
	}
	_, cmd := p.Update(msg)
	return cmd
}

// switchTo shows page to, pausing the hidden page's refresh loop. The Logs
// page follows the run selected on the Runs page.
func (m *Model) switchTo(to page) tea.Cmd {
	if to == m.active {
		return nil
	}
	cmds := []tea.Cmd{m.pages[m.active].Activate(false)}
	m.active = to
	if to == pageLogs {
		if t, ok := m.runs.selectedTarget(); ok {
			cmds = append(cmds, m.logs.open(t))
		}
	}
	cmds = append(cmds, m.pages[to].Activate(true))
	return tea.Batch(cmds...)
}

// resize hands each page the space left by the chrome.
func (m *Model) resize() {
	h := m.c.Height - chromeLines
	if m.lost != nil {
		h--
	}
	for _, p := range m.pages {
		p.SetSize(m.c.Width, max(h, 1))
	}
}
