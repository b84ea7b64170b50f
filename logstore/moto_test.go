package logstore

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The AWS API emulator moto, started on first use and stopped by TestMain.
var moto struct {
	once sync.Once
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	url  string
	err  error
}

func TestMain(m *testing.M) {
	// The machine's CA bundle setting breaks plain-HTTP emulator clients.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	code := m.Run()
	if moto.cmd != nil {
		// Kill the whole process group we created, then reap.
		_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGKILL)
		<-moto.done
	}
	os.Exit(code)
}

// motoURL returns the endpoint of a running moto server. Without moto the
// test is skipped, except under CI=true where that is a failure.
func motoURL(t *testing.T) string {
	t.Helper()
	moto.once.Do(startMoto)
	if moto.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto is required under CI: %v", moto.err)
		}
		t.Skipf("moto not available: %v", moto.err)
	}
	return moto.url
}

func startMoto() {
	if out, err := exec.Command("python3", "-c", "import moto.server").CombinedOutput(); err != nil {
		moto.err = fmt.Errorf("python3 -c 'import moto.server': %v: %s", err, out)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		moto.err = err
		return
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		moto.err = err
		return
	}
	moto.cmd, moto.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(moto.done) }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			moto.url = "http://" + addr
			return
		}
		select {
		case <-moto.done:
			moto.err = fmt.Errorf("moto server exited: %v", cmd.ProcessState)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	moto.err = fmt.Errorf("moto server did not listen on %s within 60s", addr)
}
