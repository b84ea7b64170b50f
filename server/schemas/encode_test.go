package schemas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendJSONMatchesMarshal: AppendJSON writes json.Marshal's bytes for
// wire values with and without stored specs.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	name, msg := "r1", "a <b> & c"
	odd := "quote\" back\\ tab\t é \u2028 \xff end"
	spec := []byte(`{"run_name":"r1","configuration":{"type":"task","commands":["echo \u003chi\u003e"]}}`)
	job := []byte(`{"replica_num":0,"job_num":1,"job_name":"r1-0-1"}`)
	now := time.Date(2026, 12, 2, 10, 0, 0, 123, time.UTC)
	conn := &JobConnectionInfo{}
	runs := []Run{
		{ID: "1", RunSpec: StoredRunSpec(spec), Jobs: []Job{{JobSpec: StoredJobSpec(job, 0, 1),
			JobSubmissions: []JobSubmission{{ID: "s", SubmittedAt: now}}}}, SubmittedAt: now, Error: &msg},
		{ID: "2", RunSpec: RunSpec{RunName: &name}, Jobs: []Job{{JobConnectionInfo: conn}}, NextTriggeredAt: &now},
		{ID: "3"},
		{ID: odd, ProjectName: msg, User: "plain", Status: RunStatus(odd), Cost: 1.5e-7, DeploymentNum: -3, Error: &odd},
	}
	for _, v := range []any{runs, runs[0], &runs[1], []Run(nil), []Run{}, map[string]any{"runs": runs}, nil, msg,
		JobPlan{JobSpec: StoredJobSpec(job, 0, 1)}, []*Run{&runs[0], nil}} {
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, err := AppendJSON(nil, v)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "AppendJSON(%T):\n got %s\nwant %s", v, got, want)
	}
}

func BenchmarkAppendJSONRuns(b *testing.B) {
	spec := []byte(`{"run_name":"r1","repo_id":"none","configuration":{"type":"task","commands":["echo 1"],"resources":{"cpu":{"min":2,"max":null},"memory":{"min":8.0,"max":null}}},"profile":{"name":"default"},"ssh_key_pub":"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC"}`)
	runs := make([]Run, 100)
	for i := range runs {
		runs[i] = Run{ID: "x", RunSpec: StoredRunSpec(spec), Jobs: []Job{{JobSpec: StoredJobSpec(spec, 0, 0), JobSubmissions: make([]JobSubmission, 1)}}}
	}
	for _, c := range []struct {
		name string
		f    func() ([]byte, error)
	}{{"AppendJSON", func() ([]byte, error) { return AppendJSON(nil, runs) }}, {"json.Marshal", func() ([]byte, error) { return json.Marshal(runs) }}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := c.f()
				require.NoError(b, err)
			}
		})
	}
}
