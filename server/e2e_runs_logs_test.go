package server_test

// Job logs read back through logs/poll: pages in both directions follow
// next_token, start_time cuts, and the CloudWatch log storage end to end
// against the AWS emulator moto.

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/mototest"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// chattyCommands print n numbered lines a little apart, so that each is an
// event of its own with a distinct timestamp.
func chattyCommands(n int) string {
	return fmt.Sprintf(`["for i in $(seq 1 %d); do echo log line $i; sleep 0.1; done", "echo all lines written"]`, n)
}

// logEvent is a decoded log event.
type logEvent struct {
	At      time.Time
	Message string
}

// logPages reads a submission's log through logs/poll from req on,
// following next_token until it is null; it returns the events and the
// size of each page.
func (s *testServer) logPages(t testing.TB, req schemas.PollLogsRequest) (events []logEvent, pages []int) {
	t.Helper()
	for range 1000 {
		var page schemas.JobSubmissionLogs
		require.NoError(t, s.Call(context.Background(), "/api/project/main/logs/poll", req, &page))
		for _, e := range page.Logs {
			b, err := base64.StdEncoding.DecodeString(e.Message)
			require.NoError(t, err)
			require.Equal(t, "stdout", e.LogSource)
			events = append(events, logEvent{At: e.Timestamp, Message: string(b)})
		}
		pages = append(pages, len(page.Logs))
		if page.NextToken == nil {
			return events, pages
		}
		req.NextToken = page.NextToken
	}
	require.FailNow(t, "logs/poll did not end")
	return nil, nil
}

// checkLogPaging reads a finished job's log whole and in pages both ways
// and checks that every way gives the same events, in order.
func checkLogPaging(t *testing.T, s *testServer, run, sub string, lines int) {
	t.Helper()
	base := schemas.PollLogsRequest{RunName: run, JobSubmissionID: sub}
	withLimit := func(r schemas.PollLogsRequest, n int) schemas.PollLogsRequest { r.Limit = &n; return r }

	all, _ := s.logPages(t, withLimit(base, 1000))
	var text strings.Builder
	for _, e := range all {
		text.WriteString(e.Message)
	}
	for i := 1; i <= lines; i++ {
		require.Contains(t, text.String(), fmt.Sprintf("log line %d\n", i))
	}
	require.Contains(t, text.String(), "all lines written")
	require.GreaterOrEqual(t, len(all), 6, "expected the lines in several events")
	require.True(t, slices.IsSortedFunc(all, func(a, b logEvent) int { return a.At.Compare(b.At) }), "ascending order")

	asc, pages := s.logPages(t, withLimit(base, 2))
	require.Equal(t, all, asc, "ascending pages of 2")
	require.GreaterOrEqual(t, len(pages), len(all)/2)
	for _, n := range pages {
		require.LessOrEqual(t, n, 2)
	}

	desc := base
	desc.Descending = true
	back, pages := s.logPages(t, withLimit(desc, 3))
	require.GreaterOrEqual(t, len(pages), len(all)/3)
	for _, n := range pages {
		require.LessOrEqual(t, n, 3)
	}
	slices.Reverse(back)
	require.Equal(t, all, back, "descending pages of 3 are the ascending log reversed")

	// start_time is exclusive: the events after the k-th one.
	k := len(all) / 2
	after := base
	after.StartTime = &all[k].At
	rest, _ := s.logPages(t, withLimit(after, 2))
	require.Equal(t, all[k+1:], rest, "after start_time")
}

func TestCloudWatchLogStorage(t *testing.T) {
	t.Parallel()
	endpoint := mototest.Start(t)
	const group, region = "dstack-e2e", "us-east-1"
	// The server reads its AWS credentials from the environment; nothing
	// else in this test process uses AWS, so the variables are set for the
	// process (t.Setenv would forbid running in parallel).
	setProcessEnv(t, "AWS_ACCESS_KEY_ID", "test")
	setProcessEnv(t, "AWS_SECRET_ACCESS_KEY", "test")
	setProcessEnv(t, "AWS_EC2_METADATA_DISABLED", "true")
	unsetProcessEnv(t, "AWS_CA_BUNDLE") // the machine's bundle breaks plain-HTTP emulator clients
	unsetProcessEnv(t, "AWS_PROFILE")
	cw := cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	_, err := cw.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)

	h := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{CloudWatchGroup: group, CloudWatchRegion: region, CloudWatchEndpoint: endpoint})
	s.applyFleet(t, sshFleetSpec(t, "cw", h))
	s.waitFleet(t, "cw", 90*time.Second, allInstances(schemas.InstanceIdle))

	s.applyRun(t, runSpecOf(t, "clouded", `{"type": "task", "commands": `+chattyCommands(12)+`}`))
	r := s.waitRun(t, "clouded", 60*time.Second, finished)
	require.Equal(t, schemas.RunDone, r.Status, r.StatusMessage)
	sub := r.LatestJobSubmission.ID

	var page schemas.JobSubmissionLogs
	require.NoError(t, s.Call(context.Background(), "/api/project/main/logs/poll",
		schemas.PollLogsRequest{RunName: "clouded", JobSubmissionID: sub}, &page))
	require.NotNil(t, page.ExternalURL, "CloudWatch pages link to the console")
	require.Contains(t, *page.ExternalURL, "console.aws.amazon.com/cloudwatch")

	// The events are in CloudWatch, in the stream upstream names.
	stream := "main/clouded/" + sub + "/job"
	out, err := cw.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
	require.NoError(t, err)
	require.NotEmpty(t, out.Events)
	require.Contains(t, aws.ToString(out.Events[0].Message), "log line 1")

	checkLogPaging(t, s, "clouded", sub, 12)

	// The runner's own log (diagnose) goes to the runner stream.
	diag, _ := s.logPages(t, schemas.PollLogsRequest{RunName: "clouded", JobSubmissionID: sub, Diagnose: true})
	require.NotEmpty(t, diag, "runner logs")
}

// setProcessEnv sets an environment variable of the test process until
// cleanup.
func setProcessEnv(t *testing.T, key, value string) {
	old, had := os.LookupEnv(key)
	require.NoError(t, os.Setenv(key, value))
	t.Cleanup(func() { restoreEnv(key, old, had) })
}

func unsetProcessEnv(t *testing.T, key string) {
	old, had := os.LookupEnv(key)
	require.NoError(t, os.Unsetenv(key))
	t.Cleanup(func() { restoreEnv(key, old, had) })
}

func restoreEnv(key, old string, had bool) {
	if had {
		_ = os.Setenv(key, old)
	} else {
		_ = os.Unsetenv(key)
	}
}

// TestLogsOfAJustStartedJob reads the log of a job that has only just
// started: asking for it brings the server's first pull of the runner
// forward (sched.RunnerPullDue), and the job is reported running for as
// long as it runs. Once on each database dialect.
func TestLogsOfAJustStartedJob(t *testing.T) {
	dbtest.Dialects(t, func(t *testing.T, target db.Target) {
		h := sshtest.NewHost(t, sshtest.Options{})
		s := startServer(t, server.Options{DatabaseURL: dbtest.URL(target)})
		s.applyFleet(t, sshFleetSpec(t, "logs", h))
		s.waitFleet(t, "logs", 90*time.Second, allInstances(schemas.InstanceIdle))

		name := "just-started-" + randomSuffix()
		s.applyRun(t, taskSpec(t, name, 1, "echo hi", "sleep 120"))
		run := s.waitRun(t, name, time.Minute, statusIs(schemas.RunRunning))
		sub := run.LatestJobSubmission.ID
		eventually(t, time.Minute, "the first line in logs/poll", func() error {
			if lines := s.logs(t, name, sub, 100, false); !slices.Contains(lines, "hi\n") {
				return fmt.Errorf("log so far: %q", lines)
			}
			return nil
		})
		run = s.waitRun(t, name, time.Second, func(*schemas.Run) bool { return true })
		require.Equal(t, schemas.RunRunning, run.Status, "the job still runs")
		s.stopRun(t, true, name)
		s.waitRun(t, name, time.Minute, finished)
	})
}
