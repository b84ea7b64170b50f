package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/servertest"
)

// requireDocker skips without a Docker Engine, except under CI=true.
func requireDocker(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		require.True(t, os.Getenv("CI") != "true", "a Docker Engine is required under CI=true: %v: %s", err, out)
		t.Skipf("no Docker Engine: %v: %s", err, out)
	}
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// waitForLine waits for a container's log to match re.
func waitForLine(t *testing.T, id string, re *regexp.Regexp, after int) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		logs := docker(t, "logs", id)
		if m := re.FindAllStringSubmatch(logs, -1); len(m) > after {
			return m[after]
		}
		require.False(t, time.Now().After(deadline), "container %s did not log %s:\n%s", id, re, logs)
		time.Sleep(200 * time.Millisecond)
	}
}

var runningAt = regexp.MustCompile(`The server is running at (http://\S+)/`)

// TestDockerImage builds the image from the binary on the machine's Docker
// Engine (no registry) and runs it as the README says: it prints the three
// lines of `dstack server`, serves, keeps its state across a restart, and
// runs as another user with DSTACK_SERVER_DIR.
func TestDockerImage(t *testing.T) {
	requireDocker(t)
	bin := servertest.Binary(t)
	tag := fmt.Sprintf("dstack-test/server:%d", os.Getpid())
	out, err := exec.Command("./images.sh", tag, "linux/amd64="+bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag, tag+"-amd64").Run() })
	size := docker(t, "image", "inspect", "--format", "{{.Size}}", tag)
	t.Logf("image %s: %s bytes", tag, size)
	_, err = exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", "true").CombinedOutput()
	require.Error(t, err, "the image has no shell")

	state := t.TempDir()
	id := docker(t, "run", "-d", "-p", "127.0.0.1::3000", "-v", state+":/root/.dstack/server", tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	tokenLine := regexp.MustCompile(`The admin token is "([^"]+)"`)
	token := waitForLine(t, id, tokenLine, 0)[1]
	waitForLine(t, id, runningAt, 0)
	logs := docker(t, "logs", id)
	require.Contains(t, logs, "Applying ~/.dstack/server/config.yml...")
	port := docker(t, "port", id, "3000/tcp")
	url := "http://" + strings.Replace(port, "0.0.0.0", "127.0.0.1", 1)
	require.Equal(t, "main", serverProjects(t, url, token))
	require.FileExists(t, state+"/data/sqlite.db")

	docker(t, "restart", id)
	require.Equal(t, token, waitForLine(t, id, tokenLine, 1)[1], "the state survives a restart")
	waitForLine(t, id, runningAt, 1)

	data := t.TempDir()
	require.NoError(t, os.Chmod(data, 0o777))
	nobody := docker(t, "run", "-d", "--user", "65534:65534", "-e", "DSTACK_SERVER_DIR=/data", "-v", data+":/data", tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", nobody).Run() })
	waitForLine(t, nobody, runningAt, 0)
	require.FileExists(t, data+"/data/sqlite.db")
}

// serverProjects lists the projects through the API with the admin token.
func serverProjects(t *testing.T, url, token string) string {
	t.Helper()
	var names string
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command("curl", "-sf", "-X", "POST", "-H", "Authorization: Bearer "+token, url+"/api/projects/list").CombinedOutput()
		if err == nil {
			m := regexp.MustCompile(`"project_name":"([^"]+)"`).FindAllStringSubmatch(string(out), -1)
			for _, x := range m {
				names += x[1]
			}
			return names
		}
		require.False(t, time.Now().After(deadline), "projects/list at %s: %v: %s", url, err, out)
		time.Sleep(200 * time.Millisecond)
	}
}
