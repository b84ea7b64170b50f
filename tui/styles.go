package tui

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/dstackgo/dstack/server/schemas"
)

// Styles are the console's looks, built from one renderer so that each SSH
// session gets its own colour profile (none under NO_COLOR).
type Styles struct {
	Title     lipgloss.Style
	Subtle    lipgloss.Style
	TabActive lipgloss.Style
	Tab       lipgloss.Style
	Header    lipgloss.Style
	Selected  lipgloss.Style
	Banner    lipgloss.Style
	Error     lipgloss.Style
	Warn      lipgloss.Style
	OK        lipgloss.Style
	Info      lipgloss.Style
	Match     lipgloss.Style
	Key       lipgloss.Style
}

// NewStyles returns the styles rendered by r.
func NewStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	c := func(light, dark string) lipgloss.AdaptiveColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	return &Styles{
		Title:     r.NewStyle().Bold(true).Foreground(c("#5A3FC0", "#B7A6FF")),
		Subtle:    r.NewStyle().Foreground(c("#707070", "#8A8A8A")),
		TabActive: r.NewStyle().Bold(true).Underline(true).Foreground(c("#5A3FC0", "#B7A6FF")),
		Tab:       r.NewStyle().Foreground(c("#707070", "#8A8A8A")),
		Header:    r.NewStyle().Bold(true),
		Selected:  r.NewStyle().Bold(true).Foreground(c("#000000", "#FFFFFF")),
		Banner:    r.NewStyle().Bold(true).Foreground(c("#FFFFFF", "#FFFFFF")).Background(c("#C0392B", "#922B21")),
		Error:     r.NewStyle().Foreground(c("#C0392B", "#FF6B6B")),
		Warn:      r.NewStyle().Foreground(c("#B9770E", "#F5C26B")),
		OK:        r.NewStyle().Foreground(c("#1E8449", "#58D68D")),
		Info:      r.NewStyle().Foreground(c("#1F618D", "#7FB3D5")),
		Match:     r.NewStyle().Reverse(true),
		Key:       r.NewStyle().Bold(true),
	}
}

// runStatus colours a run status.
func (s *Styles) runStatus(st schemas.RunStatus) lipgloss.Style {
	switch st {
	case schemas.RunRunning, schemas.RunDone:
		return s.OK
	case schemas.RunFailed:
		return s.Error
	case schemas.RunTerminating, schemas.RunTerminated:
		return s.Subtle
	default:
		return s.Warn
	}
}

// jobStatus colours a job status.
func (s *Styles) jobStatus(st schemas.JobStatus) lipgloss.Style {
	switch st {
	case schemas.JobRunning, schemas.JobDone:
		return s.OK
	case schemas.JobFailed:
		return s.Error
	case schemas.JobTerminating, schemas.JobTerminated, schemas.JobAborted:
		return s.Subtle
	default:
		return s.Warn
	}
}

// instanceStatus colours an instance or fleet status.
func (s *Styles) instanceStatus(st string) lipgloss.Style {
	switch st {
	case string(schemas.InstanceIdle), string(schemas.FleetActive), "healthy":
		return s.OK
	case string(schemas.InstanceBusy):
		return s.Info
	case string(schemas.FleetFailed), "failure", "unreachable":
		return s.Error
	case string(schemas.InstanceTerminating), string(schemas.InstanceTerminated):
		return s.Subtle
	default:
		return s.Warn
	}
}
