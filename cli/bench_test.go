package cli_test

// Startup benchmarks: wall time from exec of `dstack server` until its port
// accepts a TCP connection. Target: under 100 ms (not asserted).
//
//	go test ./cli/ -run '^$' -bench Startup -benchtime 20x

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkServerStartup starts on an existing SQLite state: migrations
// applied, admin and project main created, config.yml written.
func BenchmarkServerStartup(b *testing.B) {
	home := b.TempDir()
	s := startServer(b, home, nil)
	code := s.Stop(b)
	require.Equal(b, 0, code, "stop the priming server: exit code\n%s", s.Output())
	env := sandboxEnv(home)
	benchStartup(b, func(int) []string { return env })
}

// BenchmarkServerStartupFresh starts on an empty directory each time:
// creates the database, migrates, bootstraps and writes both config files.
func BenchmarkServerStartupFresh(b *testing.B) {
	root := b.TempDir()
	benchStartup(b, func(i int) []string {
		home := filepath.Join(root, strconv.Itoa(i))
		require.NoError(b, os.Mkdir(home, 0o700))
		return sandboxEnv(home)
	})
}

// benchStartup times b.N starts; envFor prepares iteration i (untimed).
func benchStartup(b *testing.B, envFor func(i int) []string) {
	bin := dstackBinary(b)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env, port := envFor(i), freePort(b)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "server", "--port", strconv.Itoa(port))
		cmd.Env = env // stdout and stderr go to /dev/null
		b.StartTimer()

		start := time.Now()
		require.NoError(b, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		for {
			c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				require.FailNow(b, fmt.Sprintf("server exited before listening: %v", err))
			case <-time.After(time.Millisecond):
			}
			if time.Since(start) > 30*time.Second {
				_ = cmd.Process.Kill()
				require.FailNow(b, "server not listening after 30s")
			}
		}
		total += time.Since(start)

		b.StopTimer()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			require.NoError(b, err, "exit after SIGTERM")
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			require.FailNow(b, "server still running 10s after SIGTERM")
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}
