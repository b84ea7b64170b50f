package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// column describes a table column. Columns with a higher drop value are
// hidden first when the terminal is narrow; the flex column absorbs the
// remaining width.
type column struct {
	title string
	max   int // cap of the natural width
	min   int // a flex column may shrink to this (default: its title) before others are hidden
	drop  int // 0: never hidden
	flex  bool
}

// table lays out rows of plain cells: measure once per data change, layout
// once per size change, then draw only the visible rows.
type table struct {
	cols    []column
	natural []int
	shown   []int // indices of the visible columns
	widths  []int // widths of the visible columns
}

const colGap = 2

func newTable(cols ...column) *table { return &table{cols: cols} }

// measure computes each column's natural width over all rows.
func (t *table) measure(rows [][]string) {
	t.natural = make([]int, len(t.cols))
	for i, c := range t.cols {
		t.natural[i] = ansi.StringWidth(c.title)
	}
	for _, r := range rows {
		for i := range t.cols {
			if i < len(r) {
				if w := ansi.StringWidth(r[i]); w > t.natural[i] {
					t.natural[i] = w
				}
			}
		}
	}
	for i, c := range t.cols {
		if c.max > 0 && t.natural[i] > c.max {
			t.natural[i] = c.max
		}
	}
}

// layout picks the columns that fit in width and their widths.
func (t *table) layout(width int) {
	if t.natural == nil {
		t.measure(nil)
	}
	hidden := make([]bool, len(t.cols))
	for {
		total, worst := -colGap, -1
		for i, c := range t.cols {
			if hidden[i] {
				continue
			}
			total += t.need(i) + colGap
			if c.drop > 0 && (worst < 0 || c.drop > t.cols[worst].drop) {
				worst = i
			}
		}
		if total <= width || worst < 0 {
			t.place(hidden, width-total)
			return
		}
		hidden[worst] = true
	}
}

// need is the width a column claims when deciding what fits: a flex
// column only its minimum.
func (t *table) need(i int) int {
	c := t.cols[i]
	if !c.flex {
		return t.natural[i]
	}
	return min(t.natural[i], max(c.min, len(c.title)))
}

// place records the visible columns; the flex column gets its minimum plus
// the slack, up to its natural width.
func (t *table) place(hidden []bool, slack int) {
	t.shown, t.widths = t.shown[:0], t.widths[:0]
	for i, c := range t.cols {
		if hidden[i] {
			continue
		}
		w := t.natural[i]
		if c.flex {
			w = max(min(t.need(i)+slack, t.natural[i]), 1)
		}
		t.shown = append(t.shown, i)
		t.widths = append(t.widths, w)
	}
}

// header draws the column titles.
func (t *table) header() string {
	cells := make([]string, len(t.cols))
	for i, c := range t.cols {
		cells[i] = c.title
	}
	return t.row(cells, nil)
}

// row draws one row; paint, when set, styles a padded cell.
func (t *table) row(cells []string, paint func(col int, s string) string) string {
	var b strings.Builder
	for k, i := range t.shown {
		if k > 0 {
			b.WriteString("  ")
		}
		s := ""
		if i < len(cells) {
			s = cells[i]
		}
		s = fit(s, t.widths[k])
		if paint != nil {
			s = paint(i, s)
		}
		b.WriteString(s)
	}
	return strings.TrimRight(b.String(), " ")
}
