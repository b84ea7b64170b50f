// Package mototest runs the AWS API emulator moto for tests (S3,
// CloudWatch Logs, CloudFormation, EC2, ECS, ELBv2, IAM, …). Without moto
// a test skips, except under CI=true where that is a failure.
package mototest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start runs a moto server until the test's cleanup and returns its
// endpoint (http://127.0.0.1:PORT). Clients of the plain-HTTP emulator
// need AWS_CA_BUNDLE unset where the machine sets it (ClientEnv), and the
// process environment is the caller's to change: parallel tests cannot use
// t.Setenv.
func Start(t testing.TB) string {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import moto.server").CombinedOutput(); err != nil {
		skipOrFail(t, fmt.Sprintf("moto is not installed (pip install 'moto[server]'): %v: %s", err, out))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = ClientEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // moto's own process group
		<-done
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case <-done:
			t.Fatalf("moto exited: %s", logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not listen on %s within 60s: %s", addr, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ClientEnv returns env for a process talking to moto: without
// AWS_CA_BUNDLE (a custom bundle breaks plain-HTTP clients such as
// Litestream's), with test credentials and no EC2 metadata lookups.
func ClientEnv(env []string) []string {
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") || strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") ||
			strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") || strings.HasPrefix(kv, "AWS_EC2_METADATA_DISABLED=")
	})
	return append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (required under CI=true)")
	}
	t.Skip(msg)
}
