package logstore

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkFileWrite appends batches of 100 typical 80-byte lines and reports lines/s.
func BenchmarkFileWrite(b *testing.B) {
	s := NewFile(b.TempDir())
	const batch = 100
	ev := make([]Event, batch)
	for i := range ev {
		ev[i] = Event{Timestamp: ts(i), Message: []byte(fmt.Sprintf("step %6d | loss 0.%06d | lr 3.0e-4 | tokens/s 123456 | gpu 97%%\n", i, i))}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		require.NoError(b, s.Write(ctx, jobK, ev))
	}
	lines := float64(b.N * batch)
	b.ReportMetric(lines/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/lines, "ns/line")
}

// BenchmarkFilePollDescending100k reads the newest page (limit 100 and 1000)
// of a 100,000-line file, the UI's first request.
func BenchmarkFilePollDescending100k(b *testing.B) {
	s := newFile(b, 0)
	const n, per = 100_000, 10_000
	for i := 0; i < n; i += per {
		require.NoError(b, s.Write(ctx, jobK, events(i, i+per)))
	}
	st, err := os.Stat(s.Path(jobK))
	require.NoError(b, err)
	for _, limit := range []int{100, 1000} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.Poll(ctx, Query{Key: jobK, Limit: limit, Descending: true})
				require.NoError(b, err)
				require.Len(b, p.Entries, limit)
				require.NotNil(b, p.NextToken)
			}
			b.ReportMetric(float64(st.Size())/1e6, "file-MB")
		})
	}
	// For comparison: an ascending page deep in the file (newline counting).
	b.Run("asc-token-90000-limit=1000", func(b *testing.B) {
		for b.Loop() {
			p, err := s.Poll(ctx, Query{Key: jobK, Limit: 1000, NextToken: ptr("90000")})
			require.NoError(b, err)
			require.Len(b, p.Entries, 1000)

		}
	})
}
