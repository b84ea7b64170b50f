package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestLogsRequests(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := newFake(t).
		on("/api/project/main/runs/get", ok(mustJSON(t, runs[3]))).
		on("/api/project/main/logs/poll", ok("logs_page1.json"), ok("logs_page2.json"))

	res := runCLI(t, "", append([]string{"logs", "hello"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "hello\nwörld ✓\nbye\n", res.Stdout, "messages are base64-decoded, pages followed")
	requireBody(t, `{"run_name":"hello","id":null}`, f.requests("/api/project/main/runs/get")[0].Body)
	polls := f.requests("/api/project/main/logs/poll")
	require.Len(t, polls, 2)
	requireBody(t, `{"run_name":"hello","job_submission_id":"1a1b2c3d-0000-4000-8000-000000000005","start_time":null,"end_time":null,"descending":false,"next_token":null,"limit":1000,"diagnose":false}`, polls[0].Body)
	requireBody(t, `{"run_name":"hello","job_submission_id":"1a1b2c3d-0000-4000-8000-000000000005","start_time":null,"end_time":null,"descending":false,"next_token":"2","limit":1000,"diagnose":false}`, polls[1].Body)
}

func TestLogsSinceAndDiagnose(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := newFake(t).
		on("/api/project/main/runs/get", ok(mustJSON(t, runs[3]))).
		on("/api/project/main/logs/poll", ok("logs_empty.json"))
	res := runCLI(t, "", append([]string{"logs", "hello", "--since", "2026-08-21T13:00:00Z", "-d"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	requireBody(t, `{"run_name":"hello","job_submission_id":"1a1b2c3d-0000-4000-8000-000000000005","start_time":"2026-08-21T13:00:00Z","end_time":null,"descending":false,"next_token":null,"limit":1000,"diagnose":true}`,
		f.requests("/api/project/main/logs/poll")[0].Body)

	res = runCLI(t, "", append([]string{"logs", "hello", "--since", "yesterday"}, f.flags()...)...)
	require.Equal(t, 2, res.Code)
	require.Contains(t, res.Stderr, "--since")
}

func TestLogsUnknownRun(t *testing.T) {
	f := newFake(t).on("/api/project/main/runs/get", reply{400, `{"detail":[{"msg":"Run not found","code":"resource_not_exists"}]}`})
	res := runCLI(t, "", append([]string{"logs", "nope"}, f.flags()...)...)
	require.Equal(t, 1, res.Code)
	require.Equal(t, "Error: run nope not found\n", res.Stderr)
}

func TestLogsFollow(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := newFake(t).
		on("/api/project/main/runs/get", ok(mustJSON(t, runs[2])), ok(mustJSON(t, runs[2])), ok(mustJSON(t, runs[3]))).
		on("/api/project/main/logs/poll", ok("logs_page1.json"), ok("logs_page2.json"), ok("logs_empty.json"))
	res := runCLI(t, "", append([]string{"logs", "hello", "-f"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, "hello\nwörld ✓\nbye\n", res.Stdout)
	polls := f.requests("/api/project/main/logs/poll")
	require.GreaterOrEqual(t, len(polls), 3)
	require.Contains(t, string(polls[2].Body), `"start_time":"2026-08-21T13:59:12Z"`, "follow-up polls start after the last line")
	require.Contains(t, string(polls[2].Body), `"next_token":null`)
}

func TestParseSince(t *testing.T) {
	now := goldenNow
	got, err := parseSince("1h", now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-time.Hour), *got)
	got, err = parseSince("2026-08-21T15:30:00+02:00", now)
	require.NoError(t, err)
	require.True(t, got.Equal(time.Date(2026, 8, 21, 13, 30, 0, 0, time.UTC)))
	_, err = parseSince("2026-08-21T15:30:00", now)
	require.Error(t, err, "a time without a zone is refused, as upstream does")
}

func TestFindJob(t *testing.T) {
	runs := decodeFixture[[]schemas.Run](t, "runs_list.json")
	llama := runs[1]
	require.Equal(t, 0, findJob(&llama, -1, 0).JobSpec.ReplicaNum, "a running replica")
	require.Equal(t, 1, findJob(&llama, 1, 0).JobSpec.ReplicaNum)
	require.Nil(t, findJob(&llama, 7, 0))
	llama.Jobs[0].JobSubmissions[0].Status = schemas.JobProvisioning
	require.Equal(t, 0, findJob(&llama, -1, 0).JobSpec.ReplicaNum, "none running: the lowest")
}
