package logstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Poll reads one page of k's stream with GetLogEvents (startFromHead when
// ascending) and passes CloudWatch's forward/backward token through. Like
// upstream it follows up to 10 empty pages, and returns a nil token once the
// token stops changing. Time bounds follow the File store's semantics:
// StartTime exclusive; EndTime exclusive ascending, inclusive descending;
// ascending without EndTime stops at the current time. A missing stream is an
// empty page.
func (s *CloudWatch) Poll(ctx context.Context, q Query) (Page, error) {
	stream := streamName(q.Key)
	url := s.externalURL(stream)
	p := Page{ExternalURL: &url}
	if q.Limit <= 0 || !q.valid() {
		return p, nil
	}
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  &s.group,
		LogStreamName: &stream,
		Limit:         aws.Int32(int32(min(q.Limit, cwMaxGetLimit))),
		StartFromHead: aws.Bool(!q.Descending),
	}
	if q.StartTime != nil {
		// CloudWatch's startTime is inclusive; events have whole milliseconds.
		in.StartTime = aws.Int64(q.StartTime.UnixMilli() + 1)
	}
	switch {
	case q.EndTime != nil && q.Descending:
		in.EndTime = aws.Int64(q.EndTime.UnixMilli() + 1)
	case q.EndTime != nil:
		in.EndTime = aws.Int64(msCeil(*q.EndTime))
	case !q.Descending:
		// Keeps paging finite while the job keeps logging, as upstream.
		in.EndTime = aws.Int64(time.Now().UnixMilli())
	}
	prev := ""
	if q.NextToken != nil && *q.NextToken != "" {
		prev = *q.NextToken
		in.NextToken = aws.String(prev)
	}
	for range cwMaxEmptyPages {
		out, err := s.client.GetLogEvents(ctx, in)
		if err != nil {
			return s.pollError(ctx, p, q, err)
		}
		tok := aws.ToString(out.NextForwardToken)
		if q.Descending {
			tok = aws.ToString(out.NextBackwardToken)
		}
		if len(out.Events) > 0 {
			p.Entries = make([]Entry, 0, len(out.Events))
			for _, e := range out.Events {
				p.Entries = append(p.Entries, Entry{
					Timestamp: msTime(aws.ToInt64(e.Timestamp)),
					Source:    SourceStdout,
					Message:   aws.ToString(e.Message),
				})
			}
			if q.Descending {
				slices.Reverse(p.Entries)
			}
			if tok != "" {
				p.NextToken = &tok
			}
			return p, nil
		}
		if tok == "" || tok == prev {
			return p, nil
		}
		prev, in.NextToken = tok, aws.String(tok)
	}
	// Out of retries: CloudWatch guarantees more data only backwards.
	if q.Descending {
		p.NextToken = &prev
	}
	return p, nil
}

// pollError maps a GetLogEvents error: a missing stream is an empty page, a
// rejected token is ErrBadToken, a missing group is reported clearly.
func (s *CloudWatch) pollError(ctx context.Context, p Page, q Query, err error) (Page, error) {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		if gerr := s.checkGroup(ctx); gerr != nil {
			return Page{}, gerr
		}
		return p, nil
	}
	var inv *types.InvalidParameterException
	if errors.As(err, &inv) && q.NextToken != nil && strings.Contains(strings.ToLower(inv.ErrorMessage()), "token") {
		return Page{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	return Page{}, fmt.Errorf("get CloudWatch log events: %w", err)
}

// externalURL links to the stream in the AWS console.
func (s *CloudWatch) externalURL(stream string) string {
	return "https://console.aws.amazon.com/cloudwatch/home?region=" + s.region +
		"#logsV2:log-groups/log-group/" + quoteAll(s.group) + "/log-events/" + quoteAll(stream)
}

// quoteAll percent-encodes every byte except ASCII letters, digits and "_.-~",
// like Python's urllib.parse.quote(s, safe="").
func quoteAll(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}
