package ssh_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/client"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// endlessJSON answers every request on 127.0.0.1:port with a JSON string
// of 256 MiB that is never closed, like a broken or hostile agent.
const endlessJSON = `
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "')
        chunk = b"x" * 65536
        try:
            for _ in range(4096):
                self.wfile.write(chunk)
        except Exception:
            pass
    do_POST = do_GET
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`

// TestHostOutputIsBounded: a host that answers without end (command output
// or an agent's HTTP answer) gets an error once the answer passes the
// limit, instead of the server reading it all into memory.
func TestHostOutputIsBounded(t *testing.T) {
	t.Parallel()
	h := sshtest.NewHost(t, sshtest.Options{})
	ctx := ctxT(t, 2*time.Minute)
	c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctx, h.Target())
	require.NoError(t, err)

	t.Run("command output", func(t *testing.T) {
		out, _, err := c.Run(ctx, "head -c 268435456 /dev/zero", nil)
		require.ErrorContains(t, err, "more than", "run: %d bytes", len(out))
		require.LessOrEqual(t, len(out), sshfleet.MaxCommandOutput, "kept bytes of output")
		_, _, err = c.Run(ctx, "head -c 268435456 /dev/zero >&2", nil)
		require.ErrorContains(t, err, "more than", "stderr")
		out, _, err = c.Run(ctx, "echo still usable", nil)
		require.NoError(t, err, "the connection after an overflow")
		require.Equal(t, "still usable", strings.TrimSpace(string(out)), "the connection after an overflow")
	})

	t.Run("agent answer", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 is not installed")
		}
		script := filepath.Join(t.TempDir(), "endless.py")
		require.NoError(t, writeFile(script, endlessJSON))
		srv := exec.Command("ip", "netns", "exec", h.Name, py, script, "10998")
		srv.Stdout, srv.Stderr = io.Discard, io.Discard
		require.NoError(t, srv.Start())
		t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
		shim := client.NewShimClient(c.HTTPClient(sshfleet.DefaultShimPort), "http://127.0.0.1:10998")
		var answerErr error
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			actx, cancel := context.WithTimeout(ctx, time.Minute)
			_, answerErr = shim.GetTask(actx, "any")
			cancel()
			if answerErr != nil && strings.Contains(answerErr.Error(), "more than") {
				return
			}
			if answerErr == nil || !strings.Contains(answerErr.Error(), "refused") {
				break
			}
			time.Sleep(200 * time.Millisecond) // the server does not listen yet
		}
		require.FailNow(t, fmt.Sprintf("an endless answer: %v", answerErr))
	})
}

func writeFile(p, text string) error { return os.WriteFile(p, []byte(text), 0o644) }

// stallingReader yields some data, then blocks until ctx ends: an upload
// that is cancelled half way.
type stallingReader struct {
	ctx  context.Context
	data []byte
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

// TestCancelledUploadLeavesNoTemporaryFile: an upload cut short removes
// its temporary file on the host, with SFTP and without.
func TestCancelledUploadLeavesNoTemporaryFile(t *testing.T) {
	t.Parallel()
	for _, noSFTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "sftp", true: "cat"}[noSFTP], func(t *testing.T) {
			t.Parallel()
			h := sshtest.NewHost(t, sshtest.Options{NoSFTP: noSFTP})
			c, err := newPool(t, sshfleet.PoolOptions{}).Get(ctxT(t, time.Minute), h.Target())
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			r := &stallingReader{ctx: ctx, data: make([]byte, 1<<20)}
			time.AfterFunc(2*time.Second, cancel)
			require.Error(t, c.Upload(ctx, "up/big.bin", 0o644, r), "a cancelled upload succeeded")
			left := func() []string {
				m, _ := filepath.Glob(filepath.Join(h.Home, "up", "*.dstack-tmp-*"))
				return m
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(left()) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			require.Empty(t, left(), "temporary files left")
			_, err = os.Stat(filepath.Join(h.Home, "up", "big.bin"))
			require.ErrorIs(t, err, os.ErrNotExist, "the target exists after a cancelled upload")
		})
	}
}
