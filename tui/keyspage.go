package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dstackgo/dstack/server/schemas"
)

// encryptionMsg answers EncryptionStatus.
type encryptionMsg struct {
	status *schemas.EncryptionStatus
	err    error
}

func (m encryptionMsg) callErr() error { return m.err }

// keysPage shows the encryption keys and how many stored values each one
// protects: a key rotation's progress at a glance. Admins only.
type keysPage struct {
	c        Common
	poll     poller
	status   *schemas.EncryptionStatus
	tbl      *table
	rows     [][]string
	err      error
	notAdmin bool
}

func newKeysPage(c Common) *keysPage {
	return &keysPage{c: c, poll: poller{owner: "keys", every: 2 * c.Interval}, tbl: newTable()}
}

// Init implements Component.
func (p *keysPage) Init() tea.Cmd { return nil }

// Capturing implements Page.
func (p *keysPage) Capturing() bool { return false }

// SetSize implements Component.
func (p *keysPage) SetSize(w, h int) {
	p.c.SetSize(w, h)
	p.tbl.layout(w)
}

// Activate implements Page.
func (p *keysPage) Activate(on bool) tea.Cmd {
	if p.poll.activate(on) && !p.notAdmin {
		return p.fetch()
	}
	return nil
}

func (p *keysPage) fetch() tea.Cmd {
	p.poll.begin()
	c := p.c
	return func() tea.Msg {
		var st *schemas.EncryptionStatus
		err := c.call(func(ctx context.Context) (err error) { st, err = c.Backend.EncryptionStatus(ctx); return err })
		return encryptionMsg{status: st, err: err}
	}
}

// Update implements Component.
func (p *keysPage) Update(msg tea.Msg) (Component, tea.Cmd) {
	switch msg := msg.(type) {
	case identityMsg:
		p.notAdmin = msg.err == nil && !msg.id.Admin
	case pollTick:
		if p.poll.tick(msg) && !p.notAdmin {
			return p, p.fetch()
		}
	case encryptionMsg:
		cmd := p.poll.done(msg.err)
		p.err = msg.err
		if errors.Is(msg.err, ErrForbidden) {
			p.notAdmin = true
		}
		if msg.err == nil {
			p.setStatus(msg.status)
		}
		return p, cmd
	case tea.KeyMsg:
		if key.Matches(msg, p.c.Keys.Refresh) && !p.notAdmin && p.poll.refresh() {
			return p, p.fetch()
		}
	}
	return p, nil
}

// keyIDs are the by_key names in config order, then any unknown ones.
func keyIDs(st *schemas.EncryptionStatus) []string {
	var ids []string
	seen := map[string]bool{}
	for _, k := range st.Keys {
		id := k.Type + ":" + k.Name
		ids, seen[id] = append(ids, id), true
	}
	var extra []string
	for _, c := range st.Columns {
		for id := range c.ByKey {
			if !seen[id] {
				extra, seen[id] = append(extra, id), true
			}
		}
	}
	sort.Strings(extra)
	return append(ids, extra...)
}

// keyLabel is a key's column title: its name, or "identity" (plaintext).
func keyLabel(id string) string {
	typ, name, _ := strings.Cut(id, ":")
	if typ == "identity" || name == "" {
		return typ
	}
	return name
}

func (p *keysPage) setStatus(st *schemas.EncryptionStatus) {
	p.status = st
	ids := keyIDs(st)
	cols := []column{{title: "COLUMN", max: 32, flex: true}, {title: "TOTAL", max: 8}}
	for _, id := range ids {
		cols = append(cols, column{title: keyLabel(id), max: 20})
	}
	cols = append(cols, column{title: "PLAIN", max: 8}, column{title: "UNREADABLE", max: 10},
		column{title: "REWRAP", max: 9})
	p.tbl = newTable(cols...)
	p.rows = p.rows[:0]
	for _, c := range st.Columns {
		row := []string{c.Table + "." + c.Column, fmt.Sprint(c.Total)}
		for _, id := range ids {
			row = append(row, fmt.Sprint(c.ByKey[id]))
		}
		p.rows = append(p.rows, append(row, fmt.Sprint(c.Plaintext), fmt.Sprint(c.Undecryptable), fmt.Sprint(c.NeedsRewrap)))
	}
	p.tbl.measure(p.rows)
	p.tbl.layout(p.c.Width)
}

// View implements Component.
func (p *keysPage) View() string {
	st := p.c.Styles
	lines := []string{st.Header.Render("Keys · encryption at rest")}
	switch {
	case p.notAdmin:
		return strings.Join(append(lines, "", "Encryption keys are for admins only."), "\n")
	case p.status == nil && p.err != nil:
		return strings.Join(append(lines, "", explain(st, "encryption keys", p.err)), "\n")
	case p.status == nil:
		return strings.Join(append(lines, "", st.Subtle.Render("Loading…")), "\n")
	}
	s := p.status
	lines = append(lines, "Configured keys, in order (the first encrypts new values):")
	for i, k := range s.Keys {
		role := "decrypts"
		if k.Encrypts {
			role = st.OK.Render("encrypts") + " + decrypts"
		}
		lines = append(lines, fmt.Sprintf("  %d  %-10s %-16s %s", i+1, k.Type, k.Name, role))
	}
	if len(s.Keys) == 0 {
		lines = append(lines, st.Warn.Render("  none: values are stored as plaintext"))
	}
	lines = append(lines, "", st.Header.Render(p.tbl.header()))
	for _, r := range p.rows {
		lines = append(lines, p.tbl.row(r, nil))
	}
	return strings.Join(append(append(lines, ""), p.progress()...), "\n")
}

// progress sums the columns into one rotation verdict.
func (p *keysPage) progress() []string {
	st := p.c.Styles
	total, rewrap, bad := 0, 0, 0
	for _, c := range p.status.Columns {
		total, rewrap, bad = total+c.Total, rewrap+c.NeedsRewrap, bad+c.Undecryptable
	}
	var out []string
	if total > 0 {
		done := total - rewrap - bad
		out = append(out, fmt.Sprintf("Rotation %s %d%% of %d values under the first key", bar(done, total, 20), done*100/total, total))
	}
	for _, id := range sortedKeys(p.status.UnknownKeys) {
		out = append(out, st.Warn.Render(fmt.Sprintf("%d values were written with key %s, which the config does not list.", p.status.UnknownKeys[id], id)))
	}
	switch {
	case bad > 0:
		out = append(out, st.Error.Render(fmt.Sprintf("%d values cannot be decrypted: put their key back in config.yml.", bad)))
	case rewrap > 0:
		out = append(out, st.Warn.Render(fmt.Sprintf("%d values to rewrap: run `dstack admin encryption reencrypt`.", rewrap)))
	default:
		out = append(out, st.OK.Render("All values are under the first key: older keys can leave config.yml."))
	}
	return out
}

// bar draws a text progress bar of n out of total.
func bar(n, total, width int) string {
	fill := 0
	if total > 0 {
		fill = n * width / total
	}
	return "[" + strings.Repeat("#", fill) + strings.Repeat("-", width-fill) + "]"
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ShortHelp implements help.KeyMap.
func (p *keysPage) ShortHelp() []key.Binding { return []key.Binding{p.c.Keys.Refresh} }

// FullHelp implements help.KeyMap.
func (p *keysPage) FullHelp() [][]key.Binding { return [][]key.Binding{{p.c.Keys.Refresh}} }
