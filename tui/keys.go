package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds every binding of the console, so the help lists them all
// and no two places disagree on a key.
type KeyMap struct {
	// Global.
	NextPage, PrevPage, Help, Quit, Refresh key.Binding
	Pages                                   [pageCount]key.Binding
	// Lists and the log view.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Runs.
	Open, Back, Logs, Filter, ToggleActive, Stop, Abort key.Binding
	// Logs.
	Follow, Search, NextMatch, PrevMatch key.Binding
	// Questions and inputs.
	Yes, No, Cancel key.Binding
}

// DefaultKeyMap returns the console's bindings.
func DefaultKeyMap() *KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	km := &KeyMap{
		NextPage: b([]string{"tab"}, "tab", "next page"),
		PrevPage: b([]string{"shift+tab"}, "shift+tab", "previous page"),
		Help:     b([]string{"?"}, "?", "help"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
		Refresh:  b([]string{"r"}, "r", "refresh now"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f", " "}, "pgdn", "page down"),
		Top:      b([]string{"g", "home"}, "g/home", "top"),
		Bottom:   b([]string{"G", "end"}, "G/end", "bottom"),

		Open:         b([]string{"enter"}, "enter", "jobs"),
		Back:         b([]string{"esc", "backspace"}, "esc", "back"),
		Logs:         b([]string{"l"}, "l", "logs"),
		Filter:       b([]string{"/"}, "/", "filter"),
		ToggleActive: b([]string{"a"}, "a", "active/all"),
		Stop:         b([]string{"s"}, "s", "stop"),
		Abort:        b([]string{"x"}, "x", "abort"),

		Follow:    b([]string{"G", "end"}, "G/end", "end+follow"),
		Search:    b([]string{"/"}, "/", "search"),
		NextMatch: b([]string{"n"}, "n", "next match"),
		PrevMatch: b([]string{"N"}, "N", "prev match"),

		Yes:    b([]string{"y", "Y"}, "y", "yes"),
		No:     b([]string{"n", "N", "esc"}, "n", "no"),
		Cancel: b([]string{"esc"}, "esc", "clear filter/search"),
	}
	for i := range km.Pages {
		n := string(rune('1' + i))
		km.Pages[i] = b([]string{n}, n, pageNames[i])
	}
	return km
}

// global are the bindings every page shares, for the help.
func (k *KeyMap) global() []key.Binding {
	return []key.Binding{k.NextPage, k.PrevPage, key.NewBinding(key.WithHelp("1-5", "go to page")), k.Refresh, k.Help, k.Quit,
		key.NewBinding(key.WithHelp("ctrl+c", "quit (always)"))}
}

// nav are the list movement bindings.
func (k *KeyMap) nav() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}
