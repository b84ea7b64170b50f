package logstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	ctx   = context.Background()
	base  = time.Date(2026, 8, 21, 13, 11, 0, 0, time.UTC)
	jobK  = Key{Project: "main", Run: "run-1", JobSubmissionID: "6a1f2e54-3d5c-4b8e-9f0a-1b2c3d4e5f60"}
	runK  = Key{Project: "main", Run: "run-1", JobSubmissionID: jobK.JobSubmissionID, Diagnose: true}
	other = Key{Project: "main", Run: "run-2", JobSubmissionID: jobK.JobSubmissionID}
)

// ts is the timestamp of test line i: base + i seconds + i ms.
func ts(i int) time.Time { return base.Add(time.Duration(i) * (time.Second + time.Millisecond)) }

func ptr[T any](v T) *T { return &v }

// events returns lines from..to-1 of the test log.
func events(from, to int) []Event {
	var ev []Event
	for i := from; i < to; i++ {
		ev = append(ev, Event{Timestamp: ts(i), Message: []byte("line " + strconv.Itoa(i))})
	}
	return ev
}

// newFile returns a store whose job log has n lines.
func newFile(t testing.TB, n int) *File {
	t.Helper()
	s := NewFile(t.TempDir())
	if n > 0 {
		require.NoError(t, s.Write(ctx, jobK, events(0, n)))
	}
	return s
}

// lineOffsets returns the byte offset of the start of each line of path.
func lineOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	offs := []int64{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			offs = append(offs, int64(i+1))
		}
	}
	return offs
}

// lineNums maps a page to the test line numbers it holds.
func lineNums(t testing.TB, p Page) []int {
	t.Helper()
	out := []int{}
	for _, e := range p.Entries {
		var n int
		_, err := fmt.Sscanf(e.Message, "line %d", &n)
		require.NoError(t, err, "unexpected message %q", e.Message)
		require.True(t, e.Timestamp.Equal(ts(n)), "line %d: timestamp %v, want %v", n, e.Timestamp, ts(n))
		require.Contains(t, []string{SourceStdout, "stderr"}, e.Source, "line %d: source", n)
		out = append(out, n)
	}
	return out
}

func tok(p Page) string {
	if p.NextToken == nil {
		return "<nil>"
	}
	return *p.NextToken
}

func TestFilePaging(t *testing.T) {
	s := newFile(t, 10)
	offs := lineOffsets(t, s.Path(jobK))
	off := func(i int) string { return strconv.FormatInt(offs[i], 10) }
	tests := []struct {
		name      string
		q         Query
		wantLines []int
		wantToken string
	}{
		{"asc first page", Query{Limit: 3}, []int{0, 1, 2}, "3"},
		{"asc middle page", Query{Limit: 3, NextToken: ptr("6")}, []int{6, 7, 8}, "9"},
		{"asc last partial page", Query{Limit: 3, NextToken: ptr("9")}, []int{9}, "<nil>"},
		{"asc full page at eof", Query{Limit: 5, NextToken: ptr("5")}, []int{5, 6, 7, 8, 9}, "<nil>"},
		{"asc all", Query{Limit: 100}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "<nil>"},
		{"asc empty token means start", Query{Limit: 2, NextToken: ptr("")}, []int{0, 1}, "2"},
		{"asc token past eof", Query{Limit: 3, NextToken: ptr("1000")}, []int{}, "<nil>"},
		{"asc token at eof", Query{Limit: 3, NextToken: ptr("10")}, []int{}, "<nil>"},
		{"asc start exclusive", Query{Limit: 3, StartTime: ptr(ts(2))}, []int{3, 4, 5}, "6"},
		{"asc start between lines", Query{Limit: 3, StartTime: ptr(ts(2).Add(time.Millisecond))}, []int{3, 4, 5}, "6"},
		{"asc end exclusive", Query{Limit: 100, EndTime: ptr(ts(4))}, []int{0, 1, 2, 3}, "<nil>"},
		{"asc end inside page stops", Query{Limit: 3, StartTime: ptr(ts(1)), EndTime: ptr(ts(4))}, []int{2, 3}, "<nil>"},
		{"asc token and start", Query{Limit: 2, NextToken: ptr("1"), StartTime: ptr(ts(4))}, []int{5, 6}, "7"},
		{"desc first page", Query{Descending: true, Limit: 3}, []int{9, 8, 7}, off(7)},
		{"desc middle page", Query{Descending: true, Limit: 3, NextToken: ptr(off(7))}, []int{6, 5, 4}, off(4)},
		{"desc last partial page", Query{Descending: true, Limit: 3, NextToken: ptr(off(1))}, []int{0}, "<nil>"},
		{"desc exact last page", Query{Descending: true, Limit: 3, NextToken: ptr(off(3))}, []int{2, 1, 0}, "<nil>"},
		{"desc token zero", Query{Descending: true, Limit: 3, NextToken: ptr("0")}, []int{}, "<nil>"},
		{"desc token past eof", Query{Descending: true, Limit: 2, NextToken: ptr("99999")}, []int{9, 8}, off(8)},
		{"desc token inside a line includes it", Query{Descending: true, Limit: 2, NextToken: ptr(strconv.FormatInt(offs[5]+3, 10))}, []int{5, 4}, off(4)},
		{"desc end inclusive", Query{Descending: true, Limit: 3, EndTime: ptr(ts(6))}, []int{6, 5, 4}, off(4)},
		{"desc start exclusive", Query{Descending: true, Limit: 100, StartTime: ptr(ts(6))}, []int{9, 8, 7}, "<nil>"},
		{"desc start ends page without token", Query{Descending: true, Limit: 3, StartTime: ptr(ts(6))}, []int{9, 8, 7}, "<nil>"},
		{"desc window", Query{Descending: true, Limit: 2, StartTime: ptr(ts(2)), EndTime: ptr(ts(5))}, []int{5, 4}, off(4)},
		{"desc window last", Query{Descending: true, Limit: 2, StartTime: ptr(ts(2)), EndTime: ptr(ts(5)), NextToken: ptr(off(4))}, []int{3}, "<nil>"},
		{"limit zero", Query{Limit: 0}, []int{}, "<nil>"},
		{"desc limit zero", Query{Descending: true, Limit: 0}, []int{}, "<nil>"},
		{"missing file", Query{Key: other, Limit: 3}, []int{}, "<nil>"},
		{"desc missing file", Query{Key: other, Descending: true, Limit: 3}, []int{}, "<nil>"},
		{"runner log is separate", Query{Key: runK, Limit: 3}, []int{}, "<nil>"},
		{"invalid key", Query{Key: Key{Project: "main", Run: "..", JobSubmissionID: "x"}, Limit: 3}, []int{}, "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.q.Key == (Key{}) {
				tt.q.Key = jobK
			}
			p, err := s.Poll(ctx, tt.q)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint(tt.wantLines), fmt.Sprint(lineNums(t, p)), "lines")
			assert.Equal(t, tt.wantToken, tok(p), "token")
			assert.Nil(t, p.ExternalURL, "external url")
		})
	}
}

// pollAll follows next_token until nil and returns the line numbers read.
func pollAll(t *testing.T, s Store, q Query) []int {
	t.Helper()
	var all []int
	for range 1000 {
		p, err := s.Poll(ctx, q)
		require.NoError(t, err)
		all = append(all, lineNums(t, p)...)
		if p.NextToken == nil {
			return all
		}
		q.NextToken = p.NextToken
	}
	require.FailNow(t, "token never became nil")
	return nil
}

func TestFileFollowTokens(t *testing.T) {
	s := newFile(t, 23)
	for _, limit := range []int{1, 2, 5, 23, 1000} {
		asc := pollAll(t, s, Query{Key: jobK, Limit: limit})
		desc := pollAll(t, s, Query{Key: jobK, Limit: limit, Descending: true})
		require.Len(t, asc, 23, "limit %d: asc lines", limit)
		require.Len(t, desc, 23, "limit %d: desc lines", limit)
		for i := range 23 {
			require.Equal(t, i, asc[i], "limit %d: asc %v", limit, asc)
			require.Equal(t, 22-i, desc[i], "limit %d: desc %v", limit, desc)
		}

	}
}

func TestFileTokensAcrossAppends(t *testing.T) {
	s := newFile(t, 5)
	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 5})
	require.NoError(t, err, "first page")
	require.Equal(t, "<nil>", tok(p), "first page token")
	require.Len(t, p.Entries, 5, "first page")
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3})
	require.Equal(t, "3", tok(p), "token")
	dp, _ := s.Poll(ctx, Query{Key: jobK, Limit: 2, Descending: true})
	require.Equal(t, []int{4, 3}, lineNums(t, dp), "desc page")
	require.NoError(t, s.Write(ctx, jobK, events(5, 9)))
	// The ascending token keeps its place and now sees the new lines.
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3, NextToken: p.NextToken})
	require.Equal(t, []int{3, 4, 5}, lineNums(t, p), "after append")
	require.Equal(t, "6", tok(p), "after append: token")
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3, NextToken: p.NextToken})
	require.Equal(t, []int{6, 7, 8}, lineNums(t, p), "after append, last")
	require.Equal(t, "<nil>", tok(p), "after append, last: token")
	// The descending token still points at older lines only.
	dp, _ = s.Poll(ctx, Query{Key: jobK, Limit: 10, Descending: true, NextToken: dp.NextToken})
	require.Equal(t, []int{2, 1, 0}, lineNums(t, dp), "desc after append")
	require.Equal(t, "<nil>", tok(dp), "desc after append: token")
	all := pollAll(t, s, Query{Key: jobK, Limit: 4, Descending: true})
	require.Len(t, all, 9, "desc all")
	require.Equal(t, 8, all[0], "desc all: first")
}

func TestFileLongLines(t *testing.T) {
	s := NewFile(t.TempDir())
	big := bytes.Repeat([]byte("x\"é"), 100_000) // ~400 KB of JSON, more than a chunk
	ev := []Event{{ts(0), []byte("short")}, {ts(1), big}, {ts(2), []byte("tail")}}
	require.NoError(t, s.Write(ctx, jobK, ev))
	for _, desc := range []bool{false, true} {
		var got []Entry
		q := Query{Key: jobK, Limit: 1, Descending: desc}
		for {
			p, err := s.Poll(ctx, q)
			require.NoError(t, err)
			got = append(got, p.Entries...)
			if q.NextToken = p.NextToken; q.NextToken == nil {
				break
			}
		}
		require.Len(t, got, 3, "desc=%v: entries", desc)
		require.True(t, got[1].Message == string(big), "desc=%v: the long line changed", desc)

	}
}
