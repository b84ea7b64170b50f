package logstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCW records PutLogEvents batches and serves scripted GetLogEvents pages.
type fakeCW struct {
	streams   map[string]bool
	creates   int
	batches   [][]types.InputLogEvent
	pages     []*cloudwatchlogs.GetLogEventsOutput
	getTokens []string
}

func (f *fakeCW) DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	return &cloudwatchlogs.DescribeLogStreamsOutput{}, nil
}

func (f *fakeCW) CreateLogStream(_ context.Context, in *cloudwatchlogs.CreateLogStreamInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	f.creates++
	if f.streams[*in.LogStreamName] {
		return nil, &types.ResourceAlreadyExistsException{}
	}
	f.streams[*in.LogStreamName] = true
	return &cloudwatchlogs.CreateLogStreamOutput{}, nil
}

func (f *fakeCW) PutLogEvents(_ context.Context, in *cloudwatchlogs.PutLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	if !f.streams[*in.LogStreamName] {
		return nil, &types.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	f.batches = append(f.batches, slices.Clone(in.LogEvents))
	return &cloudwatchlogs.PutLogEventsOutput{}, nil
}

func (f *fakeCW) GetLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	f.getTokens = append(f.getTokens, aws.ToString(in.NextToken))
	p := f.pages[0]
	if len(f.pages) > 1 {
		f.pages = f.pages[1:]
	}
	return p, nil
}

func fakeStore() (*CloudWatch, *fakeCW) {
	f := &fakeCW{streams: map[string]bool{}}
	return &CloudWatch{client: f, group: "g", region: "eu-west-1", log: slog.New(slog.NewTextHandler(io.Discard, nil))}, f
}

func TestCloudWatchBatching(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	tests := []struct {
		name   string
		events []Event
		sizes  []int // events per PutLogEvents call
	}{
		{"count limit", repeatEvents(25_000, now.Add(-time.Hour), 10), []int{10_000, 10_000, 5_000}},
		{"byte limit with split messages", repeatEvents(5, now.Add(-time.Hour), 300_000), []int{6, 4}},
		{"24h span", []Event{{now.Add(-72 * time.Hour), []byte("a")}, {now.Add(-60 * time.Hour), []byte("b")}, {now.Add(-47 * time.Hour), []byte("c")}, {now, []byte("d")}}, []int{2, 1, 1}},
		{"drops empty, too old and future", []Event{{now, nil}, {now.Add(-15 * 24 * time.Hour), []byte("old")}, {now.Add(3 * time.Hour), []byte("future")}, {now, []byte("ok")}}, []int{1}},
		{"nothing to send", []Event{{now, []byte{}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := fakeStore()
			require.NoError(t, s.Write(ctx, jobK, tt.events))
			var sizes []int
			for _, b := range f.batches {
				sizes = append(sizes, len(b))
				bytes := 0
				for i, e := range b {
					bytes += len(*e.Message) + cwEventOverhead
					assert.NotEmpty(t, *e.Message, "event %d", i)
					assert.LessOrEqual(t, len(*e.Message)+cwEventOverhead, 256<<10, "event %d size with overhead", i)
					assert.False(t, i > 0 && *e.Timestamp < *b[i-1].Timestamp, "batch not sorted at %d", i)
				}
				assert.LessOrEqual(t, bytes, 1<<20, "batch bytes")
				assert.LessOrEqual(t, *b[len(b)-1].Timestamp-*b[0].Timestamp, int64(24*3600*1000), "batch span in ms")
			}
			assert.Equal(t, tt.sizes, sizes, "batches")
		})
	}
}

// repeatEvents returns n events 1 ms apart with n-byte messages, newest first.
func repeatEvents(n int, start time.Time, size int) []Event {
	ev := make([]Event, n)
	for i := range ev {
		ev[n-1-i] = Event{Timestamp: start.Add(time.Duration(i) * time.Millisecond), Message: []byte(strings.Repeat("é", size/2))}
	}
	return ev
}

func TestCloudWatchStreamCreation(t *testing.T) {
	s, f := fakeStore()
	ev := []Event{{time.Now(), []byte("x")}}
	for range 3 {
		require.NoError(t, s.Write(ctx, jobK, ev))
	}
	require.Equal(t, 1, f.creates, "creates")
	require.Len(t, f.batches, 3, "batches")
	require.True(t, f.streams["main/run-1/"+jobK.JobSubmissionID+"/job"], "streams = %v", f.streams)
	// Deleted by retention: recreated on the next write.
	delete(f.streams, "main/run-1/"+jobK.JobSubmissionID+"/job")
	require.NoError(t, s.Write(ctx, jobK, ev), "write after deletion")
	require.Equal(t, 2, f.creates, "creates after deletion")
	require.Len(t, f.batches, 4, "batches after deletion")
}

func page(n int, fwd, bwd string) *cloudwatchlogs.GetLogEventsOutput {
	out := &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: &fwd, NextBackwardToken: &bwd}
	for i := range n {
		out.Events = append(out.Events, types.OutputLogEvent{Timestamp: aws.Int64(int64(1000 + i)), Message: aws.String(fmt.Sprint(i))})
	}
	return out
}

func TestCloudWatchPollTokens(t *testing.T) {
	s, f := fakeStore()
	// Events: token passed through, descending reversed.
	f.pages = []*cloudwatchlogs.GetLogEventsOutput{page(3, "f/1", "b/1")}
	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 3, Descending: true})
	require.NoError(t, err)
	require.Equal(t, "b/1", tok(p), "token")
	require.Equal(t, []string{"2", "1", "0"}, msgs(p), "page")
	require.True(t, p.Entries[0].Timestamp.Equal(time.UnixMilli(1002)), "first timestamp = %v", p.Entries[0].Timestamp)
	// Empty pages are skipped while the token moves, and the end is nil.
	f.pages = []*cloudwatchlogs.GetLogEventsOutput{page(0, "f/2", ""), page(0, "f/3", ""), page(2, "f/4", ""), page(0, "f/4", "")}
	f.getTokens = nil
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3, NextToken: ptr("f/1")})
	require.Equal(t, "f/4", tok(p), "skip empty: token")
	require.Len(t, p.Entries, 2, "skip empty: entries")
	require.Equal(t, []string{"f/1", "f/2", "f/3"}, f.getTokens, "skip empty: calls")
	p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3, NextToken: p.NextToken})
	require.Equal(t, "<nil>", tok(p), "end: token")
	require.Empty(t, p.Entries, "end: entries")
	// Out of retries: descending keeps the token, ascending does not.
	var endless []*cloudwatchlogs.GetLogEventsOutput
	for i := range 20 {
		endless = append(endless, page(0, fmt.Sprintf("f/%d", i), fmt.Sprintf("b/%d", i)))
	}
	for _, desc := range []bool{false, true} {
		f.pages, f.getTokens = endless, nil
		p, _ = s.Poll(ctx, Query{Key: jobK, Limit: 3, Descending: desc})
		want := map[bool]string{false: "<nil>", true: "b/9"}[desc]
		assert.Equal(t, want, tok(p), "desc=%v: token", desc)
		assert.Len(t, f.getTokens, cwMaxEmptyPages, "desc=%v: calls", desc)
	}
}

func TestQuoteAll(t *testing.T) {
	assert.Equal(t, "%2Faws%2Fdstack%20logs~_.-%C3%BC%3A%2B", quoteAll("/aws/dstack logs~_.-ü:+"), "quoteAll")
	assert.Equal(t, []string{"a", "é"}, splitMessage("aé", 2), "splitMessage")

}
