package logstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// PutLogEvents limits (AWS API reference).
const (
	cwMaxBatchEvents = 10000            // events per call
	cwMaxBatchBytes  = 1 << 20          // sum of UTF-8 message sizes + overhead per call
	cwEventOverhead  = 26               // bytes counted per event
	cwMaxEventBytes  = 256<<10 - 26     // message bytes per event
	cwMaxBatchSpan   = 24 * time.Hour   // newest - oldest within one call
	cwClockDrift     = 10 * time.Minute // margin for clock skew, as upstream
	cwMaxPast        = 14*24*time.Hour - cwClockDrift
	cwMaxFuture      = 2*time.Hour - cwClockDrift
	cwMaxGetLimit    = 10000 // GetLogEvents limit
	cwMaxEmptyPages  = 10    // empty pages followed per Poll, as upstream
)

// CloudWatchConfig configures NewCloudWatch.
type CloudWatchConfig struct {
	// Group is the log group (DSTACK_SERVER_CLOUDWATCH_LOG_GROUP); it must exist.
	Group string
	// Region is the AWS region (DSTACK_SERVER_CLOUDWATCH_REGION); empty means
	// the SDK's default resolution (AWS_REGION, shared config).
	Region string
	// Endpoint overrides the service URL (tests: a local emulator).
	Endpoint string
	// Credentials overrides the SDK's default credential chain.
	Credentials aws.CredentialsProvider
	// Logger receives warnings about dropped events; nil means slog.Default().
	Logger *slog.Logger
}

// cwAPI is the subset of the CloudWatch Logs client the store uses.
type cwAPI interface {
	DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cloudwatchlogs.PutLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// CloudWatch is a Store backed by CloudWatch Logs: one stream per Key, named
// <project>/<run>/<job_submission_id>/<job|runner>, created on first write.
// It keeps no per-stream state, so memory does not grow with the job count.
type CloudWatch struct {
	client cwAPI
	group  string
	region string
	log    *slog.Logger
}

var _ Store = (*CloudWatch)(nil)

// NewCloudWatch connects to CloudWatch Logs and checks that credentials are
// available and that cfg.Group exists, so misconfiguration fails at startup.
func NewCloudWatch(ctx context.Context, cfg CloudWatchConfig) (*CloudWatch, error) {
	if cfg.Group == "" {
		return nil, errors.New("no CloudWatch log group configured")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("no AWS region for CloudWatch: set DSTACK_SERVER_CLOUDWATCH_REGION or AWS_REGION")
	}
	if awsCfg.Credentials == nil {
		return nil, errors.New("no AWS credentials: none configured")
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials: %w", err)
	}
	client := cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	s := &CloudWatch{client: client, group: cfg.Group, region: awsCfg.Region, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.checkGroup(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// checkGroup fails with a clear message if the log group does not exist.
func (s *CloudWatch) checkGroup(ctx context.Context) error {
	_, err := s.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(s.group),
		Limit:        aws.Int32(1),
	})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("CloudWatch log group %s does not exist in region %s: create it first", s.group, s.region)
	}
	if err != nil {
		return fmt.Errorf("check CloudWatch log group %s in region %s: %w", s.group, s.region, err)
	}
	return nil
}

// Describe returns "cloudwatch <group> (<region>)".
func (s *CloudWatch) Describe() string {
	return fmt.Sprintf("cloudwatch %s (%s)", s.group, s.region)
}

// Close does nothing; the SDK client needs no shutdown.
func (s *CloudWatch) Close() error { return nil }

// streamName is the stream of k: <project>/<run>/<job_submission_id>/<job|runner>.
func streamName(k Key) string {
	return k.Project + "/" + k.Run + "/" + k.JobSubmissionID + "/" + k.producer()
}

// Write sends events to k's stream in time order, in as many PutLogEvents
// calls as the API limits require, creating the stream if it is missing.
// Empty messages and events outside CloudWatch's accepted time window are
// dropped (logged); messages over 256 KiB are split.
func (s *CloudWatch) Write(ctx context.Context, k Key, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if !k.valid() {
		return fmt.Errorf("write logs: invalid key %+v", k)
	}
	stream := streamName(k)
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
	now := time.Now()
	var batch []types.InputLogEvent
	var size, dropped int
	var first time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.put(ctx, stream, batch)
		batch, size = batch[:0], 0
		return err
	}
	for _, e := range sorted {
		if e.Timestamp.Before(now.Add(-cwMaxPast)) || e.Timestamp.After(now.Add(cwMaxFuture)) {
			dropped++
			continue
		}
		ts := e.Timestamp.UnixMilli()
		for _, part := range splitMessage(validUTF8(e.Message), cwMaxEventBytes) {
			n := len(part) + cwEventOverhead
			if len(batch) == cwMaxBatchEvents || size+n > cwMaxBatchBytes ||
				(len(batch) > 0 && e.Timestamp.Sub(first) > cwMaxBatchSpan) {
				if err := flush(); err != nil {
					return err
				}
			}
			if len(batch) == 0 {
				first = e.Timestamp
			}
			batch = append(batch, types.InputLogEvent{Message: aws.String(part), Timestamp: aws.Int64(ts)})
			size += n
		}
	}
	if dropped > 0 {
		s.log.Warn("cloudwatch: dropped log events outside the accepted time window", "stream", stream, "count", dropped)
	}
	return flush()
}

// put sends one batch, creating the stream and retrying once if it is missing
// (new, or deleted by a retention policy).
func (s *CloudWatch) put(ctx context.Context, stream string, batch []types.InputLogEvent) error {
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &s.group, LogStreamName: &stream, LogEvents: batch}
	out, err := s.client.PutLogEvents(ctx, in)
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		if err := s.createStream(ctx, stream); err != nil {
			return err
		}
		out, err = s.client.PutLogEvents(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("put CloudWatch log events to %s: %w", stream, err)
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		s.log.Warn("cloudwatch: some log events were rejected", "stream", stream,
			"too_old_end", aws.ToInt32(r.TooOldLogEventEndIndex),
			"too_new_start", aws.ToInt32(r.TooNewLogEventStartIndex),
			"expired_end", aws.ToInt32(r.ExpiredLogEventEndIndex))
	}
	return nil
}

// createStream creates stream; one created concurrently by someone else is fine.
func (s *CloudWatch) createStream(ctx context.Context, stream string) error {
	_, err := s.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: &s.group, LogStreamName: &stream,
	})
	var exists *types.ResourceAlreadyExistsException
	var nf *types.ResourceNotFoundException
	switch {
	case err == nil || errors.As(err, &exists):
		return nil
	case errors.As(err, &nf):
		return fmt.Errorf("CloudWatch log group %s does not exist in region %s: %w", s.group, s.region, err)
	default:
		return fmt.Errorf("create CloudWatch log stream %s: %w", stream, err)
	}
}

// splitMessage splits s into pieces of at most limit bytes on rune boundaries;
// an empty s yields no pieces.
func splitMessage(s string, limit int) []string {
	if len(s) <= limit {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	var parts []string
	for len(s) > limit {
		i := limit
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		parts = append(parts, s[:i])
		s = s[i:]
	}
	return append(parts, s)
}

// msTime converts CloudWatch milliseconds to UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// msCeil is t in milliseconds, rounded up.
func msCeil(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}
