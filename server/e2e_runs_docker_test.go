package server_test

// Runs in containers on the machine's own Docker Engine: the Docker
// executor needs a host in the Docker daemon's network namespace, so the
// SSH "host" is an sshd of this machine on a 127.0.0.x address, logging in
// a throwaway Unix user of the docker group. Its shim listens on the
// machine's 127.0.0.1:10998 and the job's runner (host networking) on
// 127.0.0.1:10999.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

const (
	dockerSocket    = "/var/run/docker.sock"
	dockerTestImage = "dstack-test/busybox:1"
	// shimTaskLabel is the label the shim puts on its containers.
	shimTaskLabel = "ai.dstack.shim.task-id"
)

func TestDockerExecutorRuns(t *testing.T) {
	t.Parallel()
	api := requireDockerEngine(t)
	ensureDockerTestImage(t, api)
	waitMachinePortsFree(t, 60*time.Second, 10998, 10999)
	h := newLocalSSHHost(t)
	s := startServer(t, server.Options{})
	suffix := randomSuffix()
	fleet := "dock-" + suffix
	s.applyFleet(t, localFleetSpec(t, fleet, h))
	f := s.waitFleet(t, fleet, 90*time.Second, allInstances(schemas.InstanceIdle))
	require.Len(t, f.Instances, 1)
	t.Cleanup(func() { removeShimContainers(t, api, suffix) })

	task := func(name string, commands ...string) schemas.RunSpec {
		cmds, _ := json.Marshal(commands)
		return runSpecOf(t, name, `{"type": "task", "image": "`+dockerTestImage+`", "commands": `+string(cmds)+`}`)
	}

	t.Run("task prints in its container and finishes", func(t *testing.T) {
		name := "dock-ok-" + suffix
		s.applyRun(t, task(name, "echo hello from $(hostname) in a container", "cat /etc/passwd | head -1", "test -x /bin/busybox"))
		r := s.waitRun(t, name, 90*time.Second, finished)
		sub := r.LatestJobSubmission
		require.Equal(t, schemas.RunDone, r.Status, "%s: %s", r.StatusMessage, deref(sub.TerminationReasonMessage))
		require.Equal(t, "exited (0)", sub.StatusMessage)
		require.Equal(t, 0, *sub.ExitStatus)
		require.Equal(t, "host", sub.JobRuntimeData.NetworkMode)
		require.Equal(t, dockerTestImage, r.Jobs[0].JobSpec.ImageName)
		text := strings.Join(s.logs(t, name, sub.ID, 2, false), "")
		require.Contains(t, text, "hello from")
		require.Contains(t, text, "in a container")
		require.Contains(t, text, "root:x:0:0:root:/root:/bin/sh", "the image's /etc/passwd, not the machine's")
		requireNoContainer(t, api, sub.ID)
	})

	t.Run("failing command fails the run with its exit status", func(t *testing.T) {
		name := "dock-bad-" + suffix
		s.applyRun(t, task(name, "echo failing", "exit 7"))
		r := s.waitRun(t, name, 90*time.Second, finished)
		sub := r.LatestJobSubmission
		require.Equal(t, schemas.RunFailed, r.Status, r.StatusMessage)
		require.Equal(t, string(schemas.JobContainerExitedWithError), *sub.TerminationReason)
		require.Equal(t, 7, *sub.ExitStatus)
		require.Equal(t, "exited (7)", sub.StatusMessage)
		require.Contains(t, strings.Join(s.logs(t, name, sub.ID, 100, false), ""), "failing")
		requireNoContainer(t, api, sub.ID)
	})

	t.Run("the official CLI's attach reaches the container", func(t *testing.T) {
		name := "dock-ssh-" + suffix
		s.applyRun(t, task(name, "sleep 120"))
		r := s.waitRun(t, name, 90*time.Second, statusIs(schemas.RunRunning))
		out, err := s.cliSSH(t, r)(name, "echo in $(cat /etc/hostname) as $(id -un); test -x /bin/busybox && echo busybox image").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "as root")
		require.Contains(t, string(out), "busybox image", "the shell runs in the container, from the image")
		s.stopRun(t, true, name)
		s.waitRun(t, name, 60*time.Second, finished)
	})
	t.Run("a container's CPU and memory are sampled from its cgroup", func(t *testing.T) {
		name := "dock-burn-" + suffix
		s.applyRun(t, task(name, "x=$(yes | head -c 50000000); while :; do :; done"))
		s.waitRun(t, name, 90*time.Second, statusIs(schemas.RunRunning))
		series := map[string][]int64{}
		deadline := time.Now().Add(90 * time.Second)
		for {
			m, err := s.GetJobMetrics(context.Background(), "main", name, 0, 0, 100)
			require.NoError(t, err)
			clear(series)
			for _, x := range m.Metrics {
				series[x.Name] = x.Values
			}
			if cpu, mem := series["cpu_usage_percent"], series["memory_working_set_bytes"]; len(cpu) >= 2 && cpu[0] > 0 && mem[0] > 50e6 {
				break
			}
			require.True(t, time.Now().Before(deadline), "no samples with CPU and memory in use within 90 s: %v", series)
			time.Sleep(time.Second)
		}
		require.GreaterOrEqual(t, series["memory_usage_bytes"][0], series["memory_working_set_bytes"][0])
		s.stopRun(t, true, name)
		s.waitRun(t, name, 60*time.Second, finished)
	})
	s.waitFleet(t, fleet, 20*time.Second, allInstances(schemas.InstanceIdle))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// localSSHHost is an sshd of this machine (no namespace of its own).
type localSSHHost struct {
	Addr      string
	Port      int
	User      string
	Home      string
	ClientKey []byte
}

// newLocalSSHHost starts an sshd on 127.0.0.x:22yy for a new user of the
// docker group; the user, its processes and its home go at cleanup.
func newLocalSSHHost(t *testing.T) *localSSHHost {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "a local SSH host needs root")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		skipOrFail(t, "a local SSH host needs /usr/sbin/sshd (apt-get install -y openssh-server)")
	}
	h := &localSSHHost{User: "dsd" + randomSuffix()}
	h.Home = filepath.Join("/tmp", "dstack-e2e-"+h.User)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			require.FailNow(t, fmt.Sprintf("%s %v: %v: %s", name, args, err, out))
		}
	}
	run("useradd", "-m", "-d", h.Home, "-s", "/bin/sh", "-G", "docker", h.User)
	uid := lookupUID(t, h.User)
	t.Cleanup(func() {
		killUserProcesses(uid)
		if out, err := exec.Command("userdel", "-r", "-f", h.User).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v: %s", h.User, err, out)
		}
		_ = os.RemoveAll(h.Home) // files the containers wrote as root
	})
	run("usermod", "-p", "*", h.User)

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	h.ClientKey = pem.EncodeToMemory(block)
	signer, err := ssh.ParsePrivateKey(h.ClientKey)
	require.NoError(t, err)
	// sshd reads authorized_keys as the user: it lives in the user's home.
	sshDir := filepath.Join(h.Home, ".ssh")
	require.NoError(t, os.MkdirAll(sshDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(sshDir, "authorized_keys"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600))
	run("chown", "-R", h.User+":", sshDir)
	dir := t.TempDir()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hb, err := ssh.MarshalPrivateKey(hostPriv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "host_key"), pem.EncodeToMemory(hb), 0o600))
	require.NoError(t, os.MkdirAll("/run/sshd", 0o755))

	for attempt := 0; ; attempt++ {
		h.Addr, h.Port = "127.0.0."+strconv.Itoa(2+randInt(250)), 2200+randInt(100)
		cfg := strings.Join([]string{
			"ListenAddress " + net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)),
			"HostKey " + filepath.Join(dir, "host_key"),
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile .ssh/authorized_keys",
			"AllowUsers " + h.User,
			"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
			"PermitRootLogin no", "UsePAM no", "StrictModes no", "AllowTcpForwarding yes", "UseDNS no",
			"PrintMotd no", "Subsystem sftp internal-sftp",
		}, "\n") + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600))
		err := startLocalSSHD(t, dir)
		if err == nil {
			return h
		}
		require.True(t, attempt != 5, "start sshd: %v", err)
	}
}

// startLocalSSHD runs sshd -D with dir's config until cleanup.
func startLocalSSHD(t *testing.T, dir string) error {
	pidFile := filepath.Join(dir, "sshd.pid")
	_ = os.Remove(pidFile)
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-f", filepath.Join(dir, "sshd_config"), "-E", filepath.Join(dir, "sshd.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			return fmt.Errorf("sshd exited: %s", log)
		default:
		}
		if st, err := os.Stat(pidFile); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd did not start within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return nil
}

// localFleetSpec is an SSH fleet of the local host with the Docker executor.
func localFleetSpec(t *testing.T, name string, h *localSSHHost) schemas.FleetSpec {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(h.ClientKey)
	require.NoError(t, err)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	raw := fmt.Sprintf(`{"configuration": {"type": "fleet", "name": %q,
		"env": {"DSTACK_SHIM_EXECUTOR": "docker"},
		"ssh_config": {"hosts": [{"hostname": %q, "port": %d, "user": %q, "ssh_key": {"public": %q, "private": %q}}]}},
		"profile": {"name": "default"}}`, name, h.Addr, h.Port, h.User, pub, string(h.ClientKey))
	var spec schemas.FleetSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	return spec
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	require.True(t, os.Getenv("CI") != "true", "%s (CI=true: not skipping)", why)
	t.Skip(why)
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

func lookupUID(t *testing.T, user string) int {
	t.Helper()
	out, err := exec.Command("id", "-u", user).Output()
	require.NoError(t, err)
	uid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	return uid
}

// killUserProcesses SIGKILLs, by pid, the processes of uid (the shim and
// what it started: all ours) and waits up to 5 s for them to go.
func killUserProcesses(uid int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var pids []int
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			st, err := os.Stat(filepath.Join("/proc", e.Name()))
			if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
				continue
			}
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
				if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
					continue
				}
			}
			pids = append(pids, pid)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMachinePortsFree waits until nothing listens on the machine's
// 127.0.0.1 ports (another test process's shim or runner).
func waitMachinePortsFree(t *testing.T, timeout time.Duration, ports ...int) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("ports %v free on 127.0.0.1", ports), func() error {
		for _, p := range ports {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				return err
			}
			_ = ln.Close()
		}
		return nil
	})
}

// dockerEngine calls the Engine API on its Unix socket.
type dockerEngine struct{ c *http.Client }

func requireDockerEngine(t *testing.T) *dockerEngine {
	t.Helper()
	if _, err := os.Stat(dockerSocket); err != nil {
		skipOrFail(t, "no Docker socket: "+err.Error())
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", dockerSocket)
	}}
	e := &dockerEngine{c: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
	if err := e.call(http.MethodGet, "/_ping", nil, nil, nil); err != nil {
		skipOrFail(t, "the Docker Engine does not answer: "+err.Error())
	}
	return e
}

func (e *dockerEngine) call(method, path string, q url.Values, body io.Reader, out any) error {
	u := "http://docker" + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-tar")
	}
	resp, err := e.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		return json.NewDecoder(bytes.NewReader(b)).Decode(out)
	}
	return nil
}

// ensureDockerTestImage imports dstack-test/busybox:1 from /bin/busybox
// (busybox-static) as the shim tests do: busybox, its applet links,
// /etc/passwd and /tmp.
func ensureDockerTestImage(t *testing.T, e *dockerEngine) {
	t.Helper()
	if e.call(http.MethodGet, "/images/"+dockerTestImage+"/json", nil, nil, nil) == nil {
		return
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		skipOrFail(t, "no /bin/busybox (apt-get install -y busybox-static): "+err.Error())
	}
	bin, err := os.ReadFile("/bin/busybox")
	require.NoError(t, err)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}))
	}
	file := func(name string, mode int64, data []byte) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	for _, d := range []string{"bin/", "etc/", "root/", "usr/", "usr/local/", "usr/local/bin/"} {
		dir(d, 0o755)
	}
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}))
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	require.NoError(t, tw.Close())
	q := url.Values{"fromSrc": {"-"}, "repo": {"dstack-test/busybox"}, "tag": {"1"}}
	require.NoError(t, e.call(http.MethodPost, "/images/create", q, &buf, nil), "import the busybox image")
}

// shimContainers lists the shim's containers whose task (job submission
// id) or name matches.
func shimContainers(e *dockerEngine, match func(task, name string) bool) ([]string, error) {
	var list []struct {
		ID     string            `json:"Id"`
		Names  []string          `json:"Names"`
		Labels map[string]string `json:"Labels"`
	}
	filters := `{"label":["` + shimTaskLabel + `"]}`
	if err := e.call(http.MethodGet, "/containers/json", url.Values{"all": {"1"}, "filters": {filters}}, nil, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range list {
		if match(c.Labels[shimTaskLabel], strings.Join(c.Names, ",")) {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// requireNoContainer waits for the shim to remove a finished job's container.
func requireNoContainer(t *testing.T, e *dockerEngine, taskID string) {
	t.Helper()
	eventually(t, 30*time.Second, "the job's container is removed", func() error {
		ids, err := shimContainers(e, func(task, _ string) bool { return task == taskID })
		if err == nil && len(ids) > 0 {
			err = fmt.Errorf("containers %v remain", ids)
		}
		return err
	})
}

// removeShimContainers force-removes the containers of the test's jobs
// (their names carry the test's random suffix) that the shim left behind.
func removeShimContainers(t *testing.T, e *dockerEngine, suffix string) {
	ids, err := shimContainers(e, func(_, name string) bool { return strings.Contains(name, suffix) })
	if err != nil {
		t.Logf("list containers: %v", err)
	}
	for _, id := range ids {
		t.Logf("removing container %s left behind", id)
		_ = e.call(http.MethodDelete, "/containers/"+id, url.Values{"force": {"1"}}, nil, nil)
	}
}
