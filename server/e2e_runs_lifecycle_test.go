package server_test

// End-to-end run lifecycles on real namespaced SSH hosts (process
// executor): retries with resubmission, max_duration, services and dev
// environments. Pairs of runs go at once on the fleet's two hosts.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

func TestSSHRunLifecycles(t *testing.T) {
	t.Parallel()
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	// Upstream waits 15 s before the first resubmission; a second is enough
	// to see the run go pending and come back.
	s := startServer(t, server.Options{ResubmitAfter: func(int) time.Duration { return time.Second }})
	s.applyFleet(t, sshFleetSpec(t, "life", h1, h2))
	s.waitFleet(t, "life", 90*time.Second, allInstances(schemas.InstanceIdle))

	t.Run("runs that end by themselves", func(t *testing.T) {
		t.Run("retry on error resubmits the job", func(t *testing.T) {
			t.Parallel()
			marker := filepath.Join(os.TempDir(), "dstack-e2e-retry-"+randomSuffix())
			t.Cleanup(func() { _ = os.Remove(marker) })
			script := `if [ -e ` + marker + ` ]; then echo second attempt; else touch ` + marker + `; echo first attempt; exit 1; fi`
			s.applyRun(t, runSpecOf(t, "retrier", `{"type": "task", "commands": [`+strconv.Quote(script)+`],
				"retry": {"on_events": ["error"], "duration": "1h"}}`))
			var tr trace
			r := s.waitRun(t, "retrier", 90*time.Second, tr.until(finished))
			t.Logf("statuses: %v", tr.seen)
			require.Equal(t, schemas.RunDone, r.Status, "%s; statuses %v", r.StatusMessage, tr.seen)
			require.Len(t, r.Jobs, 1)
			subs := r.Jobs[0].JobSubmissions
			require.Len(t, subs, 2, "one failed submission, one resubmission")
			first, second := subs[0], subs[1]
			require.Equal(t, 0, first.SubmissionNum)
			require.Equal(t, schemas.JobFailed, first.Status)
			require.Equal(t, string(schemas.JobContainerExitedWithError), *first.TerminationReason)
			require.Equal(t, 1, *first.ExitStatus)
			require.Equal(t, "exited (1)", first.StatusMessage)
			require.Equal(t, 1, second.SubmissionNum)
			require.Equal(t, schemas.JobDone, second.Status)
			require.Equal(t, "exited (0)", second.StatusMessage)
			require.Equal(t, second.ID, r.LatestJobSubmission.ID)
			require.Contains(t, strings.Join(s.logs(t, "retrier", first.ID, 100, false), ""), "first attempt")
			require.Contains(t, strings.Join(s.logs(t, "retrier", second.ID, 100, false), ""), "second attempt")
			require.Contains(t, tr.seen, schemas.RunPending, "the run waits for its back-off as pending")
		})

		t.Run("max_duration stops the run", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s.applyRun(t, runSpecOf(t, "bounded", `{"type": "task", "commands": ["echo started", "sleep 600"], "max_duration": 3}`))
			r := s.waitRun(t, "bounded", 60*time.Second, finished)
			require.Less(t, time.Since(start), 45*time.Second)
			sub := r.LatestJobSubmission
			require.Equal(t, schemas.JobTerminated, sub.Status)
			require.Equal(t, string(schemas.JobMaxDurationExceeded), *sub.TerminationReason)
			require.Equal(t, "max duration exceeded", *sub.Error)
			require.Equal(t, "terminated", sub.StatusMessage)
			// As upstream: a job ended by anything but done_by_runner or
			// scaled_down, with no retry for it, fails the run (job_failed).
			require.Equal(t, schemas.RunFailed, r.Status)
			require.Equal(t, string(schemas.RunJobFailed), *r.TerminationReason)
			require.Contains(t, strings.Join(s.logs(t, "bounded", sub.ID, 100, false), ""), "started")
		})
	})
	s.waitFleet(t, "life", 20*time.Second, allInstances(schemas.InstanceIdle))

	t.Run("runs that wait to be stopped", func(t *testing.T) {
		t.Run("service maps its port and stops", func(t *testing.T) {
			t.Parallel()
			s.applyRun(t, runSpecOf(t, "web", `{"type": "service", "port": 8000,
				"commands": ["mkdir -p www", "echo hello-service > www/index.html", "exec busybox httpd -f -p 8000 -h www"]}`))
			r := s.waitRun(t, "web", 60*time.Second, statusIs(schemas.RunRunning))
			sub := r.LatestJobSubmission
			require.NotNil(t, sub.JobRuntimeData)
			require.Equal(t, "host", sub.JobRuntimeData.NetworkMode)
			require.Equal(t, 8000, sub.JobRuntimeData.Ports["8000"], "ports: %v", sub.JobRuntimeData.Ports)
			require.Equal(t, 8000, *r.Jobs[0].JobSpec.ServicePort)
			h := hostOf(t, sub, h1, h2)
			eventually(t, 20*time.Second, "the service answers on its host", func() error {
				out, err := h.Exec("busybox", "wget", "-q", "-O-", "http://127.0.0.1:8000/")
				if err == nil && !strings.Contains(out, "hello-service") {
					err = errUnexpected(out)
				}
				return err
			})
			s.stopRun(t, false, "web")
			r = s.waitRun(t, "web", 60*time.Second, finished)
			require.Equal(t, schemas.RunTerminated, r.Status)
			require.Equal(t, string(schemas.RunStoppedByUser), *r.TerminationReason)
			require.Equal(t, "stopped", r.LatestJobSubmission.StatusMessage)
			eventually(t, 20*time.Second, "the service is gone", func() error {
				if out, err := h.Exec("busybox", "wget", "-q", "-O-", "http://127.0.0.1:8000/"); err == nil {
					return errUnexpected(out)
				}
				return nil
			})
		})

		t.Run("dev environment runs until stopped", func(t *testing.T) {
			t.Parallel()
			s.applyRun(t, runSpecOf(t, "devbox", `{"type": "dev-environment", "ide": "vscode", "init": ["echo init done"], "ports": [8080]}`))
			r := s.waitRun(t, "devbox", 60*time.Second, statusIs(schemas.RunRunning))
			sub := r.LatestJobSubmission
			require.Equal(t, 8080, sub.JobRuntimeData.Ports["8080"], "ports: %v", sub.JobRuntimeData.Ports)
			eventually(t, 20*time.Second, "the init commands ran", func() error {
				if text := strings.Join(s.logs(t, "devbox", sub.ID, 100, false), ""); !strings.Contains(text, "init done") {
					return errUnexpected(text)
				}
				return nil
			})
			time.Sleep(time.Second)
			r = s.waitRun(t, "devbox", time.Second, statusIs(schemas.RunRunning))
			s.stopRun(t, false, "devbox")
			r = s.waitRun(t, "devbox", 60*time.Second, finished)
			require.Equal(t, schemas.RunTerminated, r.Status)
			require.Equal(t, "stopped", r.LatestJobSubmission.StatusMessage)
		})
	})
	s.waitFleet(t, "life", 20*time.Second, allInstances(schemas.InstanceIdle))

	t.Run("logs page both ways", func(t *testing.T) {
		s.applyRun(t, runSpecOf(t, "chatty", `{"type": "task", "commands": `+chattyCommands(12)+`}`))
		r := s.waitRun(t, "chatty", 60*time.Second, finished)
		require.Equal(t, schemas.RunDone, r.Status, r.StatusMessage)
		checkLogPaging(t, s, "chatty", r.LatestJobSubmission.ID, 12)
	})
}

type errUnexpected string

func (e errUnexpected) Error() string { return "unexpected: " + string(e) }
