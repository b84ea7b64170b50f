package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Options configure a local console.
type Options struct {
	Backend Backend
	Project string
	Logger  *slog.Logger
	// In and Out are the terminal; Out also decides the colour profile
	// (none under NO_COLOR or when it is not a terminal).
	In  io.Reader
	Out io.Writer
}

// Run shows the console full-screen until the user quits or ctx ends.
func Run(ctx context.Context, o Options) error {
	c := NewCommon(ctx, lipgloss.NewRenderer(o.Out), o.Backend, o.Project, o.Logger)
	p := tea.NewProgram(New(c), tea.WithContext(ctx), tea.WithAltScreen(),
		tea.WithInput(o.In), tea.WithOutput(o.Out))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run the console: %w", err)
	}
	return nil
}
