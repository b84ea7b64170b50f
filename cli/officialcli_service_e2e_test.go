package cli_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serviceYAML is a service whose replicas answer answer at / through
// busybox httpd, with a probe so that a new replica takes requests only
// once it listens.
func serviceYAML(answer string) string {
	return "type: service\nname: svc\nport: 8000\nenv:\n  - ANSWER=" + answer + "\n" +
		"commands:\n  - mkdir -p www && echo $ANSWER > www/index.html\n  - exec busybox httpd -f -p 8000 -h www\n" +
		"probes:\n  - type: http\n    url: /\n    interval: 1s\n" + taskResources
}

// serviceLoop asks a service for / every 20 ms and counts what it answers.
type serviceLoop struct {
	mu       sync.Mutex
	answers  map[string]int
	last     string
	failures []string
}

func (l *serviceLoop) get(client *http.Client, url, token string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.failures = append(l.failures, err.Error())
	case resp.StatusCode != http.StatusOK:
		l.failures = append(l.failures, fmt.Sprint(resp.StatusCode, " ", string(body)))
	default:
		l.last = strings.TrimSpace(string(body))
		l.answers[l.last]++
	}
}

// lastAnswer is the last successful answer.
func (l *serviceLoop) lastAnswer() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// testOfficialService applies a service attached (the CLI prints where the
// server publishes it), detaches, and changes it twice under a request
// loop through the proxy: with the official CLI, then with ours. Each apply
// is an update in place that rolls the replica without a failed request.
func testOfficialService(t *testing.T, env *officialEnv) {
	c := env.CLI(t)
	path := c.WriteFile("svc.dstack.yml", serviceYAML("one"))
	// Attached, apply prints the URL the server publishes the service at
	// (with -d the official CLI exits before printing it).
	apply := c.Start("apply", "-f", path, "-y")
	url := env.Server.URL + "/proxy/services/main/svc/"
	apply.WaitOutput(url, 2*time.Minute)
	r := apply.Interrupt()
	require.Equal(t, 0, r.Code, r)
	require.Contains(t, r.Stdout, "Service is published at:", r)
	env.waitRun(t, "main", "svc", "running")
	require.Regexp(t, `svc\s.*running`, c.Want(0, "ps").Stdout)

	loop := &serviceLoop{answers: map[string]int{}}
	client := &http.Client{Timeout: 30 * time.Second}
	waitFor(t, "the service answers through the proxy", func() (bool, string) {
		loop.get(client, url, env.Server.Token)
		return loop.lastAnswer() == "one", fmt.Sprint(loop.failures)
	})
	loop.failures, loop.answers = nil, map[string]int{}

	// The loop: at most 12,000 requests over at most 8 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 0; n < 12000 && ctx.Err() == nil; n++ {
			loop.get(client, url, env.Server.Token)
			time.Sleep(20 * time.Millisecond)
		}
	})
	rolled := func(answer string) {
		t.Helper()
		waitFor(t, "the service answers "+answer, func() (bool, string) {
			return loop.lastAnswer() == answer, loop.lastAnswer()
		})
		env.waitRunReplicas(t, "main", "svc", 1)
	}

	c.WriteFile("svc.dstack.yml", serviceYAML("two"))
	up := c.Run("apply", "-f", path, "-y", "-d")
	c.Check(up, 0, "Active run svc already exists. Detected changes that can be updated in-place:", "env",
		"Run svc updated, detaching...")
	require.NotContains(t, up.Output(), "Stopping", up)
	rolled("two")
	require.Equal(t, 1, env.runDeployment(t, "main", "svc"))

	// Ours says and does the same.
	c.WriteFile("svc.dstack.yml", serviceYAML("three"))
	own := wantRun(t, sandboxEnv(c.Home), 0, []string{"Detected changes that can be updated in-place", "Run svc updated, detaching..."},
		"apply", "-f", path, "-y", "-d", "--url", env.Server.URL, "--token", env.Server.Token, "--project", "main")
	require.NotContains(t, own.Stdout, "cannot", own.Stdout)
	rolled("three")
	require.Equal(t, 2, env.runDeployment(t, "main", "svc"))

	cancel()
	wg.Wait()
	loop.mu.Lock()
	t.Logf("answers during the updates: %v", loop.answers)
	require.Empty(t, loop.failures, "failed requests during the updates")
	require.Positive(t, loop.answers["one"])
	require.Positive(t, loop.answers["two"])
	require.Positive(t, loop.answers["three"])
	loop.mu.Unlock()

	c.Check(c.Run("stop", "svc", "-y"), 0, "Stopped")
	env.waitRun(t, "main", "svc", "terminated")
}

// runReplicas is what runs/get says of a run's replicas.
type runReplicas struct {
	DeploymentNum int `json:"deployment_num"`
	Jobs          []struct {
		JobSubmissions []struct {
			Status        string `json:"status"`
			DeploymentNum int    `json:"deployment_num"`
		} `json:"job_submissions"`
	} `json:"jobs"`
}

// runDeployment is the run's deployment number.
func (e *officialEnv) runDeployment(t testing.TB, project, name string) int {
	t.Helper()
	var r runReplicas
	require.Equal(t, 200, api(t, e.Server.URL, e.Server.Token, "/api/project/"+project+"/runs/get", map[string]any{"run_name": name}, &r))
	return r.DeploymentNum
}

// waitRunReplicas waits until the run has n replicas, all running the
// run's deployment, and no other replica left running or stopping.
func (e *officialEnv) waitRunReplicas(t testing.TB, project, name string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d replica(s) of %s's deployment", n, name), func() (bool, string) {
		var r runReplicas
		require.Equal(t, 200, api(t, e.Server.URL, e.Server.Token, "/api/project/"+project+"/runs/get", map[string]any{"run_name": name}, &r))
		current, other := 0, 0
		var states []string
		for _, j := range r.Jobs {
			sub := j.JobSubmissions[len(j.JobSubmissions)-1]
			states = append(states, fmt.Sprintf("%s/%d", sub.Status, sub.DeploymentNum))
			switch {
			case sub.Status == "running" && sub.DeploymentNum == r.DeploymentNum:
				current++
			case sub.Status == "running" || sub.Status == "terminating" || sub.Status == "provisioning" || sub.Status == "pulling":
				other++
			}
		}
		return current == n && other == 0, fmt.Sprintf("deployment %d: %v", r.DeploymentNum, states)
	})
}
