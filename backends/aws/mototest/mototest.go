// Package mototest runs the AWS API emulator moto for tests and puts a thin
// fault-injecting proxy in front of it, for what moto cannot produce (a
// region out of capacity, a quota, credentials AWS refuses).
//
//	func TestMain(m *testing.M) { code := m.Run(); mototest.Stop(); os.Exit(code) }
//	url := mototest.URL(t)                 // moto, started once per test process
//	p := mototest.NewProxy(t, url)          // faults: p.Fail(mototest.Fault{...})
//
// Without moto (python3 -m moto.server) tests skip; under CI=true they fail.
package mototest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var moto struct {
	once sync.Once
	cmd  *exec.Cmd
	done chan struct{}
	url  string
	err  error
}

// URL returns the endpoint of the process's moto server, starting it on
// first use. It also makes the environment fit an emulator: the machine's
// AWS_CA_BUNDLE breaks plain-HTTP clients, and instance metadata is off.
func URL(t testing.TB) string {
	t.Helper()
	moto.once.Do(start)
	if moto.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto is required under CI=true: %v", moto.err)
		}
		t.Skipf("moto is not available: %v", moto.err)
	}
	return moto.url
}

// Stop ends the moto server started by URL (call it from TestMain).
func Stop() {
	if moto.cmd != nil {
		_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGKILL)
		<-moto.done
	}
}

// Reset wipes moto's state.
func Reset(t testing.TB) {
	t.Helper()
	res, err := http.Post(URL(t)+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	res.Body.Close()
}

// Start runs a moto server of the test's own, stopped at cleanup (for
// packages without a TestMain calling Stop).
func Start(t testing.TB) string {
	t.Helper()
	cmd, done, url, err := run()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto is required under CI=true: %v", err)
		}
		t.Skipf("moto is not available: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return url
}

func start() {
	moto.cmd, moto.done, moto.url, moto.err = run()
}

func run() (*exec.Cmd, chan struct{}, string, error) {
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if out, err := exec.Command("python3", "-c", "import moto.server").CombinedOutput(); err != nil {
		return nil, nil, "", fmt.Errorf("python3 -c 'import moto.server': %v: %s", err, strings.TrimSpace(string(out)))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, "", err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return cmd, done, "http://" + addr, nil
		}
		select {
		case <-done:
			return nil, nil, "", fmt.Errorf("moto server exited: %v", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return nil, nil, "", fmt.Errorf("moto server did not listen on %s within 60s", addr)
}
