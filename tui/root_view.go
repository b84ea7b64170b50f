package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// chromeLines are the lines the root draws around a page: header, tabs,
// footer (the banner adds one while the server is lost).
const chromeLines = 3

// Title is the first thing the console draws.
const Title = "dstack console"

// View draws the whole screen: exactly Height lines of at most Width cells.
func (m *Model) View() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := []string{m.header(), m.tabs()}
	if m.lost != nil {
		lines = append(lines, m.banner())
	}
	bodyH := max(h-len(lines)-1, 1)
	body := m.pages[m.active].View()
	if m.help {
		body = m.helpView()
	}
	lines = append(lines, frame(body, w, bodyH), m.footer())
	return frame(strings.Join(lines, "\n"), w, h)
}

func (m *Model) header() string {
	st := m.c.Styles
	parts := []string{"project " + m.c.Project}
	if id := m.ident; id != nil {
		who := id.Username
		if id.Admin {
			who += " (admin)"
		}
		parts = append(parts, who, id.ServerURL)
		if id.ServerVersion != "" {
			parts = append(parts, "v"+id.ServerVersion)
		}
	}
	return st.Title.Render(Title) + "  " + st.Subtle.Render(strings.Join(parts, " · "))
}

// tabs is the page bar; when it does not fit the width, the tabs lose
// their padding.
func (m *Model) tabs() string {
	if full := m.tabBar(true); m.c.Width <= 0 || ansi.StringWidth(full) <= m.c.Width {
		return full
	}
	return m.tabBar(false)
}

func (m *Model) tabBar(padded bool) string {
	st := m.c.Styles
	var b strings.Builder
	for i, name := range pageNames {
		label := fmt.Sprintf("%d %s", i+1, name)
		if !padded && page(i) != m.active {
			b.WriteString(st.Tab.Render(label))
			b.WriteString(" ")
			continue
		}
		if page(i) == m.active {
			b.WriteString(st.TabActive.Render("[" + label + "]"))
		} else {
			b.WriteString(st.Tab.Render(" " + label + " "))
		}
		b.WriteString(" ")
	}
	return strings.TrimRight(b.String(), " ")
}

func (m *Model) banner() string {
	text := fmt.Sprintf(" ! lost the server, retrying with back-off (attempt %d): %s", m.failures, cause(m.lost))
	return m.c.Styles.Banner.Render(fit(text, m.c.Width))
}

func (m *Model) footer() string {
	km := m.c.Keys
	binds := m.pages[m.active].ShortHelp()
	if m.help {
		binds = nil
	}
	binds = append(binds, km.Help, km.Quit)
	parts := make([]string, 0, len(binds))
	for _, b := range binds {
		hk := b.Help()
		parts = append(parts, hk.Key+" "+hk.Desc)
	}
	// Drop the page's bindings from the end until the line fits; the help
	// and quit stay.
	for len(parts) > 2 && ansi.StringWidth(strings.Join(parts, " · ")) > m.c.Width {
		parts = append(parts[:len(parts)-3], parts[len(parts)-2:]...)
	}
	return m.c.Styles.Subtle.Render(clip(strings.Join(parts, " · "), m.c.Width))
}

// helpView lists every binding of the active page and the global ones, a
// column per group.
func (m *Model) helpView() string {
	p := m.pages[m.active]
	groups := append(p.FullHelp(), m.c.Keys.global())
	titles := make([]string, len(groups))
	for i := range groups {
		titles[i] = pageNames[m.active]
	}
	if len(groups) > 2 {
		titles[0] = "Move"
	}
	titles[len(groups)-1] = "Global"
	cols := make([]string, 0, len(groups))
	for i, g := range groups {
		cols = append(cols, m.helpColumn(titles[i], g))
	}
	out := lipgloss.JoinHorizontal(lipgloss.Top, cols...)
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return "Keys (any key closes this help)\n\n" + strings.Join(lines, "\n")
}

func (m *Model) helpColumn(title string, binds []key.Binding) string {
	st := m.c.Styles
	kw := 0
	for _, b := range binds {
		kw = max(kw, ansi.StringWidth(b.Help().Key))
	}
	lines := []string{st.Header.Render(title) + "    "}
	for _, b := range binds {
		hk := b.Help()
		lines = append(lines, st.Key.Render(fit(hk.Key, kw))+"  "+hk.Desc+"    ")
	}
	return strings.Join(lines, "\n")
}
