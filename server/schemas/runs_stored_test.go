package schemas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeStoredRunRoundTrips(t *testing.T) {
	spec := `{"run_name":"train","repo_id":"none","configuration":{"type":"task","nodes":2,"commands":["python train.py"],` +
		`"resources":{"gpu":{"name":["A100"],"count":{"min":2,"max":2}}}},"profile":{"name":"default"},"ssh_key_pub":"ssh-rsa AAAA"}`
	job := func(n int) string {
		return `{"replica_num":0,"job_num":` + itoa(n) + `,"job_name":"train-0-` + itoa(n) + `","commands":["python train.py"],"requirements":{"resources":{"cpu":{"min":2,"max":null}}}}`
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	msg := "gpu <busy> & more"
	in := Run{ID: "r1", ProjectName: "main", User: "admin", SubmittedAt: now, LastProcessedAt: now, Status: RunRunning,
		StatusMessage: "running", RunSpec: StoredRunSpec([]byte(spec)), Cost: 1.25, Error: &msg,
		Jobs: []Job{
			{JobSpec: StoredJobSpec([]byte(job(0)), 0, 0), JobSubmissions: []JobSubmission{{ID: "s0", SubmittedAt: now, Status: JobRunning}}},
			{JobSpec: StoredJobSpec([]byte(job(1)), 0, 1), JobSubmissions: []JobSubmission{{ID: "s1", SubmittedAt: now, Status: JobPulling}}},
		}}
	in.LatestJobSubmission = &in.Jobs[1].JobSubmissions[0]
	data, err := json.Marshal(in)
	require.NoError(t, err)
	var got Run
	require.NoError(t, DecodeStoredRun(data, &got))
	require.False(t, *got.RunSpec.RunName != "train" || len(got.Jobs) != 2 || got.Jobs[1].JobSpec.JobNum != 1 || got.Jobs[1].JobSpec.JobName != "train-0-1", "identity fields: %+v", got)
	again, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, string(data), string(again), "re-encoded differently:\n got %s\nwant %s", again, data)
	// Everything but the specs decodes as with the full decoder.
	var full Run
	require.NoError(t, json.Unmarshal(data, &full))
	full.RunSpec, got.RunSpec = RunSpec{}, RunSpec{}
	for i := range full.Jobs {
		full.Jobs[i].JobSpec, got.Jobs[i].JobSpec = JobSpec{}, JobSpec{}
	}
	require.Equal(t, got, full, "fields differ from the full decode:\n got %+v\nwant %+v", got, full)
	for _, bad := range []string{`{"run_spec": {"run_name": 5}}`, `{"jobs": [{"job_spec": {"job_num": "x"}}]}`, `[]`} {
		assert.Error(t, DecodeStoredRun([]byte(bad), &got), "%s: no error", bad)
	}
}
