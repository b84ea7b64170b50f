package tui

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogBufferIsBounded(t *testing.T) {
	b := newLogBuffer(100)
	for i := range 250 {
		b.write(fmt.Sprintf("line %d\n", i))
	}
	require.Equal(t, 100, b.len())
	require.Equal(t, 150, b.dropped)
	require.Equal(t, "line 150", b.at(0))
	require.Equal(t, "line 249", b.at(99))
}

func TestLogBufferWrite(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{name: "lines", chunks: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "a chunk ends mid-line", chunks: []string{"hel", "lo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "open last line shows", chunks: []string{"a\npartial"}, want: []string{"a", "partial"}},
		{name: "colours stripped", chunks: []string{"\x1b[31mred\x1b[0m ok\n"}, want: []string{"red ok"}},
		{name: "carriage returns keep the last redraw", chunks: []string{"10%\r50%\r100%\r\n"}, want: []string{"100%"}},
		{name: "tabs and controls", chunks: []string{"a\tb\x07c\n"}, want: []string{"a    bc"}},
		{name: "empty lines kept", chunks: []string{"a\n\nb\n"}, want: []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLogBuffer(10)
			for _, c := range tt.chunks {
				b.write(c)
			}
			var got []string
			for i := range b.len() {
				got = append(got, b.at(i))
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLogBufferFind(t *testing.T) {
	b := newLogBuffer(10)
	b.write("alpha\nBeta\ngamma\nbeta two\n")
	require.Equal(t, 1, b.find("beta", 0, 1))
	require.Equal(t, 3, b.find("beta", 2, 1))
	require.Equal(t, 1, b.find("beta", 4, 1), "wraps around")
	require.Equal(t, 3, b.find("beta", 0, -1), "backwards wraps too")
	require.Equal(t, -1, b.find("delta", 0, 1))
}

func TestPollerBackoff(t *testing.T) {
	p := poller{owner: "x", every: 2e9}
	require.True(t, p.activate(true))
	p.begin()
	for range 10 {
		p.done(ErrUnreachable)
	}
	require.Equal(t, maxBackoff, p.delay())
	p.done(nil)
	require.Equal(t, p.every, p.delay())
	require.False(t, p.tick(pollTick{owner: "x", gen: p.gen - 1}), "stale ticks are dropped")
	require.True(t, p.tick(pollTick{owner: "x", gen: p.gen}))
}
