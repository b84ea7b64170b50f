package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// taskSpec is a run spec as the official CLI sends it for a small task.
func taskSpec(t testing.TB, name string, nodes int, commands ...string) schemas.RunSpec {
	t.Helper()
	cmds, _ := json.Marshal(commands)
	raw := `{"run_name": "` + name + `", "repo_id": "none", "repo_data": {"repo_type": "virtual"},
		"configuration": {"type": "task", "nodes": ` + itoa(nodes) + `, "commands": ` + string(cmds) + `,
		"resources": {"cpu": {"count": {"min": 1}}, "memory": {"min": 0.1}, "disk": {"size": {"min": 1}}}},
		"profile": {"name": "default"}}`
	var spec schemas.RunSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	return spec
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (s *testServer) applyRun(t testing.TB, spec schemas.RunSpec) *schemas.Run {
	t.Helper()
	ctx := context.Background()
	var plan schemas.RunPlan
	require.NoError(t, s.Call(ctx, "/api/project/main/runs/get_plan", schemas.GetRunPlanRequest{RunSpec: spec}, &plan))
	require.NotEmpty(t, plan.JobPlans)
	require.NotEmpty(t, plan.JobPlans[0].Offers, "the fleet's instances should be offered")
	var run schemas.Run
	req := schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: plan.RunSpec, CurrentResource: plan.CurrentResource}}
	require.NoError(t, s.Call(ctx, "/api/project/main/runs/apply", req, &run))
	return &run
}

func (s *testServer) waitRun(t testing.TB, name string, timeout time.Duration, cond func(*schemas.Run) bool) *schemas.Run {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var r schemas.Run
	for {
		err := s.Call(context.Background(), "/api/project/main/runs/get", schemas.GetRunRequest{RunName: &name}, &r)
		if err == nil && cond(&r) {
			return &r
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("run %s: condition not met within %s; status %s (%s), err %v", name, timeout, r.Status, r.StatusMessage, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func finished(r *schemas.Run) bool { return r.Status.Finished() }

// logs reads a job submission's whole log through logs/poll, following next_token.
func (s *testServer) logs(t testing.TB, run string, sub string, limit int, descending bool) []string {
	t.Helper()
	var lines []string
	var token *string
	for i := 0; i < 1000; i++ {
		var page schemas.JobSubmissionLogs
		req := schemas.PollLogsRequest{RunName: run, JobSubmissionID: sub, Limit: &limit, NextToken: token, Descending: descending}
		require.NoError(t, s.Call(context.Background(), "/api/project/main/logs/poll", req, &page))
		for _, e := range page.Logs {
			b, err := base64.StdEncoding.DecodeString(e.Message)
			require.NoError(t, err)
			lines = append(lines, string(b))
		}
		if page.NextToken == nil {
			return lines
		}
		token = page.NextToken
	}
	require.FailNow(t, "logs/poll did not end")
	return nil
}

// TestSSHFleetRunsTasks runs tasks on a fleet of two hosts, once per
// database dialect (PostgreSQL when DSTACK_TEST_POSTGRES_DSN is set; a
// failure under CI=true when it is not).
func TestSSHFleetRunsTasks(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testSSHFleetRunsTasks(t, server.Options{})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testSSHFleetRunsTasks(t, server.Options{DatabaseURL: dbtest.URL(dbtest.PostgresTarget(t))})
	})
}

func testSSHFleetRunsTasks(t *testing.T, opts server.Options) {
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, opts)

	s.applyFleet(t, sshFleetSpec(t, "lab", h1, h2))
	f := s.waitFleet(t, "lab", 90*time.Second, allInstances(schemas.InstanceIdle))
	require.Len(t, f.Instances, 2)
	for _, in := range f.Instances {
		require.NotNil(t, in.InstanceType)
		require.Positive(t, in.InstanceType.Resources.CPUs)
		require.Positive(t, in.InstanceType.Resources.MemoryMiB)
		require.Equal(t, "remote", *in.Backend)
	}

	t.Run("task prints and finishes", func(t *testing.T) {
		s.applyRun(t, taskSpec(t, "hello", 1, "echo hello from dstack", "for i in $(seq 1 30); do echo line $i; done"))
		r := s.waitRun(t, "hello", 60*time.Second, finished)
		require.Equal(t, schemas.RunDone, r.Status, r.StatusMessage)
		sub := r.LatestJobSubmission
		require.Equal(t, "exited (0)", sub.StatusMessage)
		asc := s.logs(t, "hello", sub.ID, 7, false)
		text := strings.Join(asc, "")
		require.Contains(t, text, "hello from dstack")
		require.Contains(t, text, "line 30")
		require.Less(t, strings.Index(text, "line 1\r\n")+strings.Index(text, "line 1\n"), strings.Index(text, "line 30"))
		desc := s.logs(t, "hello", sub.ID, 5, true)
		require.Equal(t, len(asc), len(desc))
		require.Equal(t, asc[len(asc)-1], desc[0], "descending starts with the newest line")
		s.waitFleet(t, "lab", 10*time.Second, allInstances(schemas.InstanceIdle))
	})

	t.Run("failing command fails the run with its exit status", func(t *testing.T) {
		s.applyRun(t, taskSpec(t, "broken", 1, "echo about to fail", "exit 3"))
		r := s.waitRun(t, "broken", 60*time.Second, finished)
		require.Equal(t, schemas.RunFailed, r.Status)
		require.Equal(t, "exited (3)", r.LatestJobSubmission.StatusMessage)
		require.Equal(t, 3, *r.LatestJobSubmission.ExitStatus)
	})

	t.Run("stop while running terminates and frees the host", func(t *testing.T) {
		s.applyRun(t, taskSpec(t, "sleeper", 1, "echo sleeping", "sleep 600"))
		s.waitRun(t, "sleeper", 60*time.Second, func(r *schemas.Run) bool { return r.Status == schemas.RunRunning })
		require.NoError(t, s.Call(context.Background(), "/api/project/main/runs/stop", schemas.StopRunsRequest{RunsNames: []string{"sleeper"}}, nil))
		r := s.waitRun(t, "sleeper", 60*time.Second, finished)
		require.Equal(t, schemas.RunTerminated, r.Status)
		require.Equal(t, "stopped", r.LatestJobSubmission.StatusMessage)
		s.waitFleet(t, "lab", 10*time.Second, allInstances(schemas.InstanceIdle))
	})

	t.Run("two nodes get distinct ranks and the master IP", func(t *testing.T) {
		s.applyRun(t, taskSpec(t, "pair", 2, `echo "rank $DSTACK_NODE_RANK of $DSTACK_NODES_NUM master $DSTACK_MASTER_NODE_IP"`))
		r := s.waitRun(t, "pair", 90*time.Second, finished)
		require.Equal(t, schemas.RunDone, r.Status, r.StatusMessage)
		require.Len(t, r.Jobs, 2)
		master := *r.Jobs[0].JobSubmissions[0].JobProvisioningData.InternalIP
		for rank, j := range r.Jobs {
			sub := j.JobSubmissions[len(j.JobSubmissions)-1]
			text := strings.Join(s.logs(t, "pair", sub.ID, 100, false), "")
			require.Contains(t, text, "rank "+itoa(rank)+" of 2 master "+master)
		}
	})
}
