package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// BenchmarkRunsView draws the Runs page holding 1,000 runs.
func BenchmarkRunsView(b *testing.B) {
	f := newFake()
	base := testRuns()
	f.runs = make([]schemas.Run, 0, 1000)
	for i := range 1000 {
		r := base[i%len(base)]
		r.ID = fmt.Sprint("id-", i)
		r.RunSpec.RunName = ptr(fmt.Sprintf("run-%04d", i))
		f.runs = append(f.runs, r)
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			h := newHarness(&testing.T{}, f, size[0], size[1])
			h.keys("pgdown", "pgdown")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_ = h.m.View()
			}
		})
	}
}

// BenchmarkLogsView draws the Logs page holding 100,000 lines (more were
// written: the buffer stays bounded), following and scrolled back.
func BenchmarkLogsView(b *testing.B) {
	c := testCommon(newFake(), 120, 40)
	p := newLogsPage(c)
	p.SetSize(120, 37)
	p.target = &logTarget{run: "train", job: "train-0-0", submission: "s"}
	p.loaded = true
	for i := range MaxLogLines + 20_000 {
		p.buf.write(fmt.Sprintf("%s step %d: loss=%.4f lr=3e-4 tokens/s=12345\n", time.Duration(i)*time.Second, i, 1/float64(i+1)))
	}
	p.scroll(0)
	require.Equal(b, MaxLogLines, p.buf.len(), "buffer lines")

	for _, mode := range []string{"following", "scrolled"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "scrolled" {
				p.follow, p.top = false, MaxLogLines/2
				p.query = "step 5"
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_ = p.View()
			}
			b.ReportMetric(float64(p.buf.len()), "lines")
		})
	}
}

// BenchmarkLogsIngest appends one poll's worth of events (1,000 lines) to
// a full buffer.
func BenchmarkLogsIngest(b *testing.B) {
	f := newFake()
	lines := make([]string, logsPollLimit)
	for i := range lines {
		lines[i] = fmt.Sprintf("step %d: loss=%.4f", i, 1/float64(i+1))
	}
	f.addLogs("x", lines...)
	page := &schemas.JobSubmissionLogs{Logs: f.logs["x"]}
	p := newLogsPage(testCommon(f, 120, 40))
	p.target = &logTarget{run: "r", submission: "x"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.ingest(page)
	}
	b.ReportMetric(float64(p.buf.len()), "lines")
}
