package logstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// motoStore creates log group `group` in moto and returns a store on it.
func motoStore(t *testing.T, group string) *CloudWatch {
	t.Helper()
	url := motoURL(t)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	admin := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url),
	})
	_, err := admin.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	s, err := NewCloudWatch(ctx, CloudWatchConfig{Group: group, Region: "us-east-1", Endpoint: url, Credentials: creds})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// recent returns n events one second apart ending a minute ago, numbered like
// the file tests but with their own timestamps.
func recent(n int) ([]Event, func(i int) time.Time) {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second).UTC() }
	ev := make([]Event, n)
	for i := range ev {
		ev[i] = Event{Timestamp: at(i), Message: []byte(fmt.Sprintf("line %d", i))}
	}
	return ev, at
}

func msgs(p Page) []string {
	out := []string{}
	for _, e := range p.Entries {
		out = append(out, e.Message)
	}
	return out
}

// follow polls q until the token is nil and returns all messages.
func follow(t *testing.T, s Store, q Query) (all []string, calls int) {
	t.Helper()
	for calls < 100 {
		p, err := s.Poll(ctx, q)
		calls++
		require.NoError(t, err)
		all = append(all, msgs(p)...)
		if p.NextToken == nil {
			return all, calls
		}
		q.NextToken = p.NextToken
	}
	require.FailNow(t, "token never became nil")
	return nil, calls
}

func TestCloudWatchMissingGroup(t *testing.T) {
	url := motoURL(t)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	_, err := NewCloudWatch(ctx, CloudWatchConfig{Group: "no-such-group", Region: "us-east-1", Endpoint: url, Credentials: creds})
	want := "CloudWatch log group no-such-group does not exist in region us-east-1: create it first"
	require.EqualError(t, err, want, "err = %v, want %q", err, want)
}

func TestCloudWatchNoCredentials(t *testing.T) {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/config")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	_, err := NewCloudWatch(ctx, CloudWatchConfig{Group: "g", Region: "us-east-1", Endpoint: "http://127.0.0.1:1"})
	require.Error(t, err, "want no AWS credentials")
	require.True(t, strings.HasPrefix(err.Error(), "no AWS credentials: "), "err = %v, want no AWS credentials", err)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	_, err = NewCloudWatch(ctx, CloudWatchConfig{Group: "g"})
	require.Error(t, err, "want no AWS region")
	require.True(t, strings.HasPrefix(err.Error(), "no AWS region"), "err = %v, want no AWS region", err)
}

func TestCloudWatchWriteAndPoll(t *testing.T) {
	s := motoStore(t, "dstack-logs")
	assert.Equal(t, "cloudwatch dstack-logs (us-east-1)", s.Describe(), "Describe")
	ev, at := recent(25)
	// Out of order across and within batches: the store sorts.
	shuffled := append(append([]Event{}, ev[20:]...), ev[:20]...)
	shuffled[0], shuffled[1] = shuffled[1], shuffled[0]
	require.NoError(t, s.Write(ctx, jobK, shuffled[:10]))
	require.NoError(t, s.Write(ctx, jobK, shuffled[10:]))

	p, err := s.Poll(ctx, Query{Key: jobK, Limit: 10})
	require.NoError(t, err)
	wantURL := "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/dstack-logs/log-events/main%2Frun-1%2F" + jobK.JobSubmissionID + "%2Fjob"
	if assert.NotNil(t, p.ExternalURL, "external url") {
		assert.Equal(t, wantURL, *p.ExternalURL, "external url")
	}
	require.Len(t, p.Entries, 10, "first page")
	require.NotNil(t, p.NextToken, "first page token")
	require.True(t, p.Entries[0].Timestamp.Equal(at(0)), "first page: timestamp %v, want %v", p.Entries[0].Timestamp, at(0))
	require.Equal(t, "stdout", p.Entries[0].Source, "first page source")

	asc, calls := follow(t, s, Query{Key: jobK, Limit: 10})
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	assert.False(t, fmt.Sprint(asc) != fmt.Sprint(want) || calls > 5, "ascending in %d calls = %v", calls, asc)
	desc, calls := follow(t, s, Query{Key: jobK, Limit: 10, Descending: true})
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	assert.False(t, fmt.Sprint(desc) != fmt.Sprint(want) || calls > 5, "descending in %d calls = %v", calls, desc)

	// Time bounds: start exclusive; end between events.
	p, err = s.Poll(ctx, Query{Key: jobK, Limit: 3, StartTime: ptr(at(4)), EndTime: ptr(at(6).Add(500 * time.Millisecond))})
	assert.NoError(t, err, "window")
	assert.Equal(t, []string{"line 5", "line 6"}, msgs(p), "window")
	p, err = s.Poll(ctx, Query{Key: jobK, Limit: 2, Descending: true, EndTime: ptr(at(6).Add(500 * time.Millisecond))})
	assert.NoError(t, err, "descending window")
	assert.Equal(t, []string{"line 6", "line 5"}, msgs(p), "descending window")

	// A second stream: the runner log of the same submission.
	require.NoError(t, s.Write(ctx, runK, []Event{{at(3), []byte("runner \xff")}}))
	p, err = s.Poll(ctx, Query{Key: runK, Limit: 10})
	assert.NoError(t, err, "runner log")
	assert.Equal(t, []string{"runner \ufffd"}, msgs(p), "runner log")
	if assert.NotNil(t, p.ExternalURL, "runner log url") {
		assert.True(t, strings.HasSuffix(*p.ExternalURL, "%2Frunner"), "runner log url = %s", *p.ExternalURL)
	}
	all, _ := follow(t, s, Query{Key: jobK, Limit: 100})
	assert.Len(t, all, 25, "job log entries after runner write")

	// A stream never written is an empty page with a link.
	p, err = s.Poll(ctx, Query{Key: other, Limit: 10})
	assert.NoError(t, err, "missing stream")
	assert.Empty(t, p.Entries, "missing stream: entries")
	assert.Nil(t, p.NextToken, "missing stream: token")
	assert.NotNil(t, p.ExternalURL, "missing stream: external url")

	// A token CloudWatch rejects is a bad token.
	_, err = s.Poll(ctx, Query{Key: jobK, Limit: 10, NextToken: ptr("garbage")})
	assert.ErrorIs(t, err, ErrBadToken, "bad token: err = %v, want ErrBadToken", err)
}
