package tui

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Common is what every component is handed: where it draws, how it looks,
// which keys it answers, where it logs and whom it asks. Pages keep their own
// copy and update the size in SetSize.
type Common struct {
	// Ctx is cancelled when the program ends (the SSH session closes);
	// every call runs under it with Timeout.
	Ctx     context.Context
	Width   int
	Height  int
	Styles  *Styles
	Keys    *KeyMap
	Logger  *slog.Logger
	Backend Backend
	// Project is the project whose runs, fleets and logs are shown.
	Project string
	// Now is the clock ("submitted 3 mins ago"); tests fix it.
	Now func() time.Time
	// Timeout bounds each call to the server.
	Timeout time.Duration
	// Interval is the refresh period of the live pages.
	Interval time.Duration
}

// NewCommon returns a Common drawing with r (lipgloss.NewRenderer(os.Stdout)
// locally, bubbletea.MakeRenderer(session) over SSH); a nil logger discards.
func NewCommon(ctx context.Context, r *lipgloss.Renderer, b Backend, project string, log *slog.Logger) Common {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return Common{
		Ctx: ctx, Width: 80, Height: 24, Styles: NewStyles(r), Keys: DefaultKeyMap(),
		Logger: log, Backend: b, Project: project, Now: time.Now,
		Timeout: 10 * time.Second, Interval: 2 * time.Second,
	}
}

// SetSize records the component's size.
func (c *Common) SetSize(width, height int) { c.Width, c.Height = width, height }

// call runs fn under the program's context with the call timeout.
func (c Common) call(fn func(ctx context.Context) error) error {
	base := c.Ctx
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, c.Timeout)
	defer cancel()
	return fn(ctx)
}

// Component is a piece of the UI: a model that can be sized and lists its
// key bindings for the help.
type Component interface {
	help.KeyMap
	Init() tea.Cmd
	Update(msg tea.Msg) (Component, tea.Cmd)
	View() string
	SetSize(width, height int)
}

// Page is a top-level Component the root switches between.
type Page interface {
	Component
	// Activate starts (or, when false, pauses) the page's refresh loop.
	Activate(on bool) tea.Cmd
	// Capturing reports whether the page takes every key (a filter or a
	// search being typed, a y/n question), so the global keys stay off.
	Capturing() bool
}
