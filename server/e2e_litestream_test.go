package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/mototest"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// binaryServer is `dstack server` run as a process, as a user does.
type binaryServer struct {
	cmd  *exec.Cmd
	url  string
	out  *bytes.Buffer
	done chan struct{}
}

// startBinaryServer starts the dstack binary on dir with env and waits for
// "The server is running at".
func startBinaryServer(t *testing.T, dir string, env ...string) *binaryServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	cmd := exec.Command(servertest.Binary(t), "server", "--dir", dir, "--port", fmt.Sprint(port),
		"--token", servertest.AdminToken, "--no-default")
	cmd.Env = append(mototest.ClientEnv(os.Environ()), append([]string{"HOME=" + t.TempDir()}, env...)...)
	out := &bytes.Buffer{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(t, cmd.Start())
	s := &binaryServer{cmd: cmd, out: out, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if m := regexp.MustCompile(`The server is running at (\S+)/`).FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	go func() { _ = cmd.Wait(); _ = pw.Close(); close(s.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-s.done })
	select {
	case s.url = <-ready:
	case <-s.done:
		require.FailNow(t, fmt.Sprintf("dstack server exited: %s", out))
	case <-time.After(60 * time.Second):
		require.FailNow(t, fmt.Sprintf("dstack server did not start: %s", out))
	}
	return s
}

// call posts a JSON body with the admin token and decodes the answer.
func (s *binaryServer) call(path string, in, out any) error {
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+servertest.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, body)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func (s *binaryServer) applyRun(t *testing.T, name string) error {
	spec := taskSpec(t, name, 1, "true")
	return s.call("/api/project/main/runs/apply", schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: spec}}, nil)
}

// hasRun reports whether the server knows the run.
func (s *binaryServer) hasRun(name string) bool {
	return s.call("/api/project/main/runs/get", schemas.GetRunRequest{RunName: &name}, nil) == nil
}

// createBucket makes an S3 bucket on moto.
func createBucket(t *testing.T, endpoint, bucket string) {
	t.Helper()
	cmd := exec.Command("python3", "-c", `import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket=sys.argv[2])`, endpoint, bucket)
	cmd.Env = mototest.ClientEnv(os.Environ())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestLitestreamRestoresAfterLosingTheServer writes runs to a server that
// replicates to moto's S3, kills it (-9) and deletes its directory: a new
// server restores the database from the replica. Every run written before
// the replica caught up is back; of those written in the last second before
// the kill, the test prints how many were lost.
func TestLitestreamRestoresAfterLosingTheServer(t *testing.T) {
	endpoint := mototest.Start(t)
	createBucket(t, endpoint, "dstack-state")
	replica := "LITESTREAM_REPLICA_URL=s3://dstack-state/server?endpoint=" + endpoint + "&region=us-east-1"
	dir := filepath.Join(t.TempDir(), "server")
	s := startBinaryServer(t, dir, replica)

	var synced []string
	for i := range 20 {
		name := fmt.Sprintf("synced-%02d", i)
		require.NoError(t, s.applyRun(t, name))
		synced = append(synced, name)
	}
	eventually(t, 30*time.Second, "the replica catches up", func() error {
		var st schemas.ServerStatus
		if err := s.call("/api/admin/server/status", nil, &st); err != nil {
			return err
		}
		if r := st.Replication; r == nil || r.LocalTXID == 0 || r.ReplicaTXID < r.LocalTXID {
			return fmt.Errorf("replication %+v", st.Replication)
		}
		return nil
	})

	var last []string
	for start := time.Now(); time.Since(start) < time.Second; {
		name := fmt.Sprintf("last-%03d", len(last))
		require.NoError(t, s.applyRun(t, name))
		last = append(last, name)
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	require.NoError(t, os.RemoveAll(dir))

	s2 := startBinaryServer(t, dir, replica)
	require.Contains(t, s2.out.String(), "Restored the database from s3://dstack-state/server")
	for _, n := range synced {
		require.True(t, s2.hasRun(n), "run %s was replicated before the kill but is missing", n)
	}
	lost := 0
	for _, n := range last {
		if !s2.hasRun(n) {
			lost++
		}
	}
	t.Logf("Litestream: %d runs written in the last second before kill -9; %d lost (%.0f%%), %d restored",
		len(last), lost, 100*float64(lost)/float64(len(last)), len(last)-lost)
	fmt.Printf("litestream kill -9: runs written in the last second: %d, lost: %d\n", len(last), lost)
	require.NotContains(t, strings.ToLower(s2.out.String()), "level=error")
}

// TestLitestreamGCSRestoresAfterLosingTheServer replicates to a GCS
// emulator (fake-gcs-server, STORAGE_EMULATOR_HOST as Google's SDK reads
// it): a server started after the first was killed (-9) and its directory
// deleted has every run the replica held.
func TestLitestreamGCSRestoresAfterLosingTheServer(t *testing.T) {
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Writer: io.Discard})
	require.NoError(t, err)
	t.Cleanup(gcs.Stop)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "dstack-state"})
	emu := httptest.NewServer(gcs.HTTPHandler())
	t.Cleanup(emu.Close)
	env := []string{"LITESTREAM_REPLICA_URL=gcs://dstack-state/server",
		"STORAGE_EMULATOR_HOST=" + strings.TrimPrefix(emu.URL, "http://")}
	dir := filepath.Join(t.TempDir(), "server")
	s := startBinaryServer(t, dir, env...)

	var names []string
	for i := range 10 {
		name := fmt.Sprintf("gcs-%02d", i)
		require.NoError(t, s.applyRun(t, name))
		names = append(names, name)
	}
	eventually(t, 30*time.Second, "the replica catches up", func() error {
		var st schemas.ServerStatus
		if err := s.call("/api/admin/server/status", nil, &st); err != nil {
			return err
		}
		if r := st.Replication; r == nil || r.LocalTXID == 0 || r.ReplicaTXID < r.LocalTXID {
			return fmt.Errorf("replication %+v", st.Replication)
		}
		return nil
	})
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	require.NoError(t, os.RemoveAll(dir))

	s2 := startBinaryServer(t, dir, env...)
	require.Contains(t, s2.out.String(), "Restored the database from gcs://dstack-state/server")
	for _, n := range names {
		require.True(t, s2.hasRun(n), "run %s was replicated before the kill but is missing", n)
	}
	require.NotContains(t, strings.ToLower(s2.out.String()), "level=error")
}

// TestLitestreamReplicaUnreachable is a clear error at start.
func TestLitestreamReplicaUnreachable(t *testing.T) {
	endpoint := mototest.Start(t)
	cmd := exec.Command(servertest.Binary(t), "server", "--dir", t.TempDir(), "--port", "0", "--no-default")
	cmd.Env = append(mototest.ClientEnv(os.Environ()), "HOME="+t.TempDir(),
		"LITESTREAM_REPLICA_URL=s3://no-such-bucket/db?endpoint="+endpoint+"&region=us-east-1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Error: replica s3://no-such-bucket/db")
	require.Contains(t, string(out), "cannot be reached")
	t.Logf("%s", out)
}
