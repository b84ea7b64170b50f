package logstore

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestFileMalformedLines(t *testing.T) {
	s := NewFile(t.TempDir())
	path := s.Path(jobK)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	lines := []string{
		`{"timestamp":"2026-08-21T13:11:00.000000Z","log_source":"stdout","message":"line 0"}`,
		``,
		`not json`,
		`{"timestamp":"yesterday","log_source":"stdout","message":"bad time"}`,
		`{"timestamp":"2026-08-21T13:11:01.001Z","log_source":"stdout","message":"line 1","extra":1}`,
		`{"timestamp":"2026-08-21T13:11:02.002000+00:00","log_source":"stderr","message":"line 2"}`,
		`{"timestamp":"2026-08-21T13:11:02.500Z","log_source":"pipe","message":"bad source"}`,
		`{"timestamp":"2026-08-21T13:11:02.600Z","log_source":"stdout"}`,
		`{"timestamp":"2026-08-21T13:11:02.700Z","log_source":"stdout","message":42}`,
		"{\"timestamp\":\"2026-08-21T13:11:02.800Z\",\"log_source\":\"stdout\",\"message\":\"bad \xff utf8\"}",
		`{"timestamp":"2026-08-21T13:11:03.003","log_source":"stdout","message":"line 3"}`,
		`{"timestamp":"2026-08-21T13:11:04.004000Z","log_source":"stdout","message":"line 4"}`,
		`{"timestamp":"2026-08-21T13:11:09.000Z","log_source":"stdout","mess`, // write in progress
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))
	assert.Equal(t, []int{0, 1, 2, 3, 4}, pollAll(t, s, Query{Key: jobK, Limit: 2}), "ascending")
	assert.Equal(t, []int{4, 3, 2, 1, 0}, pollAll(t, s, Query{Key: jobK, Limit: 2, Descending: true}), "descending")
	// Malformed lines count as consumed in the ascending token.
	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 2})
	assert.NoError(t, err)
	assert.Equal(t, "5", tok(p), "token")
	assert.Equal(t, "stdout", p.Entries[1].Source, "source")
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 2, NextToken: ptr("5")})
	assert.Equal(t, "stderr", p.Entries[0].Source, "source: stderr kept")
}

func TestFileBadTokens(t *testing.T) {
	s := newFile(t, 3)
	for _, key := range []Key{jobK, other} { // existing and missing file
		for _, desc := range []bool{false, true} {
			bad := []string{"abc", "-1", "1.5", " 1", "1e3", "99999999999999999999"}
			if desc {
				bad = append(bad, "")
			}
			for _, tk := range bad {
				_, err := s.Poll(ctx, Query{Key: key, Limit: 10, Descending: desc, NextToken: ptr(tk)})
				assert.ErrorIs(t, err, ErrBadToken, "key %s desc=%v token %q", key.Run, desc, tk)
			}
		}
	}
}

func TestFileConcurrentWriters(t *testing.T) {
	s := NewFile(t.TempDir())
	const writers, batches, perBatch = 8, 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		// Two goroutines per run: one job log, one runner log; plus a shared
		// log written by everyone, whose batches must never interleave.
		for _, diag := range []bool{false, true} {
			k := Key{Project: "p", Run: fmt.Sprintf("run-%d", w), JobSubmissionID: "sub", Diagnose: diag}
			wg.Go(func() {
				for b := range batches {
					ev := events(b*perBatch, (b+1)*perBatch)
					if err := s.Write(ctx, k, ev); err != nil {
						errs <- err
						return
					}
					if err := s.Write(ctx, jobK, ev[:2]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for w := range writers {
		for _, diag := range []bool{false, true} {
			k := Key{Project: "p", Run: fmt.Sprintf("run-%d", w), JobSubmissionID: "sub", Diagnose: diag}
			got := pollAll(t, s, Query{Key: k, Limit: 333})
			require.Len(t, got, batches*perBatch, "%+v: lines", k)
			for i, n := range got {
				require.True(t, n == i, "%+v: line %d is %d", k, i, n)
			}
		}
	}
	require.Len(t, pollAll(t, s, Query{Key: jobK, Limit: 1000}), writers*2*batches*2, "shared log lines")
}

func TestFileWriteInvalidKey(t *testing.T) {
	s := NewFile(t.TempDir())
	for _, k := range []Key{
		{Project: "p", Run: "../escape", JobSubmissionID: "s"},
		{Project: "", Run: "r", JobSubmissionID: "s"},
		{Project: "p", Run: "r", JobSubmissionID: ".."},
	} {
		assert.Error(t, s.Write(ctx, k, events(0, 1)), "%+v: no error", k)
	}
	assert.NoError(t, s.Write(ctx, jobK, nil), "empty write")
	_, err := os.Stat(s.Path(jobK))
	assert.ErrorIs(t, err, os.ErrNotExist, "empty write created the file")

	assert.Equal(t, "file "+s.dir, s.Describe(), "Describe")
	want := filepath.Join(s.dir, "main", "logs", "run-1", jobK.JobSubmissionID, "runner.log")
	assert.Equal(t, want, s.Path(runK), "Path")
}

// TestFileGolden pins the on-disk format, which the Python server also reads.
func TestFileGolden(t *testing.T) {
	s := NewFile(t.TempDir())
	ev := []Event{
		{time.Date(2026, 8, 21, 13, 11, 0, 123e6, time.UTC), []byte("hello world")},
		{time.Date(2026, 8, 21, 13, 11, 1, 0, time.UTC), []byte("quotes \" backslash \\ tab\t cr\r nl\n")},
		{time.Date(2026, 8, 21, 15, 11, 1, 5e6, time.FixedZone("CEST", 2*3600)), []byte("<html> & 'x' ünïcødé 日本 😀")},
		{time.UnixMilli(1787317861999), []byte("bad utf8: a\xffb \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80\x80")},
		{time.UnixMilli(1787317862000), []byte("ctl \x00\x01\x08\x0c\x1b[31mred\x1b[0m\x7f \u2028")},
		{time.UnixMilli(1787317862001), []byte("")},
	}
	require.NoError(t, s.Write(ctx, jobK, ev))
	got, err := os.ReadFile(s.Path(jobK))
	require.NoError(t, err)
	golden := filepath.Join("testdata", "golden.jsonl")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.True(t, string(got) == string(want), "format changed:\n got: %s\nwant: %s", got, want)
	// And it reads back.
	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 10})
	require.NoError(t, err, "read back")
	require.Len(t, p.Entries, len(ev), "read back entries")
	for i, e := range p.Entries {
		assert.False(t, !e.Timestamp.Equal(ev[i].Timestamp) || e.Message != validUTF8(ev[i].Message), "entry %d = %+v", i, e)
	}
}

// TestValidUTF8 checks replacement against CPython's bytes.decode(errors="replace").
func TestValidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"a\xffb":               "a\ufffdb",
		"\xe2\x82":             "\ufffd",
		"\xe2\x82x":            "\ufffdx",
		"\xf0\x9f\x98":         "\ufffd",
		"\xed\xa0\x80":         "\ufffd\ufffd\ufffd",
		"\xc0\xaf":             "\ufffd\ufffd",
		"\xf4\x90\x80\x80":     "\ufffd\ufffd\ufffd\ufffd",
		"ok \xe2\x82\xac":      "ok €",
		"\xe0\x80\x80":         "\ufffd\ufffd\ufffd",
		"\xf0\x9f\x98\x80\x80": "😀\ufffd",
		"":                     "",
	} {
		assert.Equal(t, want, validUTF8([]byte(in)), "validUTF8(%q)", in)
	}
}

// TestFileDescendingReadsOnlyTail puts a 64 GiB sparse hole before the lines:
// reading the newest page must not touch it.
func TestFileDescendingReadsOnlyTail(t *testing.T) {
	s := newFile(t, 1)
	if err := os.Truncate(s.Path(jobK), 64<<30); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	require.NoError(t, s.Write(ctx, jobK, events(1, 10)))
	start := time.Now()
	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 3, Descending: true})
	require.NoError(t, err)
	require.Equal(t, []int{9, 8, 7}, lineNums(t, p), "page")
	require.NotNil(t, p.NextToken, "page token")
	p, err = s.Poll(ctx, Query{Key: jobK, Limit: 3, Descending: true, NextToken: p.NextToken})
	require.NoError(t, err)
	require.Equal(t, []int{6, 5, 4}, lineNums(t, p), "page")
	assert.Less(t, time.Since(start), 2*time.Second, "took too long")

}
