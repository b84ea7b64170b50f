package runner

import (
	"archive/tar"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/client"
)

// tarEntries builds a tar of entries in order: a name ending in "/" is a
// dir, one with a link target a symlink, else a file with content.
func tarEntries(t *testing.T, entries ...[3]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		name, link, content := e[0], e[1], e[2]
		h := &tar.Header{Name: name, Mode: 0o644}
		switch {
		case name[len(name)-1] == '/':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(content))
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(content))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return b.Bytes()
}

// TestExtractStaysInTheDestination: an archive may hold symlinks (they are
// kept, as links), but nothing is written through them: a later entry
// under a link to outside the destination is refused.
func TestExtractStaysInTheDestination(t *testing.T) {
	for name, entries := range map[string][][3]string{
		"through a symlinked dir":  {{"escape", "OUTSIDE", ""}, {"escape/pwned", "", "x"}},
		"through a relative link":  {{"up", "../../OUTSIDE_BASE", ""}, {"up/pwned", "", "x"}},
		"through a nested symlink": {{"a/", "", ""}, {"a/b", "OUTSIDE", ""}, {"a/b/pwned", "", "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			outside, dest := t.TempDir(), t.TempDir()
			for i := range entries {
				entries[i][1] = filepathReplace(entries[i][1], outside)
			}
			err := extractTar(bytes.NewReader(tarEntries(t, entries...)), dest, nil, nil)
			_, serr := os.Stat(filepath.Join(outside, "pwned"))
			require.Error(t, serr, "a file was written outside the destination (err %v)", err)
			require.Error(t, err, "an archive writing through a symlink was accepted")
		})
	}
	t.Run("links themselves are kept", func(t *testing.T) {
		dest := t.TempDir()
		data := tarEntries(t, [3]string{"lib/", "", ""}, [3]string{"lib/real.txt", "", "hi"},
			[3]string{"lib/alias.txt", "real.txt", ""}, [3]string{"abs", "/etc/hostname", ""})
		require.NoError(t, extractTar(bytes.NewReader(data), dest, nil, nil))
		b, err := os.ReadFile(filepath.Join(dest, "lib", "alias.txt"))
		require.NoError(t, err, "relative link")
		require.Equal(t, "hi", string(b), "relative link")
		l, err := os.Readlink(filepath.Join(dest, "abs"))
		require.NoError(t, err, "absolute link")
		require.Equal(t, "/etc/hostname", l, "absolute link")
	})
}

// filepathReplace puts the test's outside dir into a link target.
func filepathReplace(link, outside string) string {
	switch link {
	case "OUTSIDE":
		return outside
	case "../../OUTSIDE_BASE":
		return "../../../../../../../../../.." + outside
	}
	return link
}

// TestArchiveDestinationIsNeverAHomeOrRoot: a file archive replaces its
// destination, which therefore may not be the root, the job user's home
// or a directory above it.
func TestArchiveDestinationIsNeverAHomeOrRoot(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home", "u")
	require.NoError(t, os.MkdirAll(home, 0o755))
	marker := filepath.Join(home, "keep-me")
	require.NoError(t, os.WriteFile(marker, []byte("x"), 0o644))
	archive := filepath.Join(base, "a.tar")
	require.NoError(t, os.WriteFile(archive, tarEntries(t, [3]string{"data/", "", ""}, [3]string{"data/f", "", "y"}), 0o644))
	env := &jobEnv{HomeDir: home, WorkDir: filepath.Join(home, "work")}
	// "/" itself is checked without extracting (see below): an unguarded
	// extraction would remove the machine's root.
	for _, dest := range []string{home, filepath.Dir(home), home + "/"} {
		assert.Error(t, extractArchive(archive, filepath.Clean(dest), env), "destination %s accepted", dest)
		_, err := os.Stat(marker)
		require.NoError(t, err, "extracting to %s removed the home dir", dest)
	}
	for _, dest := range []string{"/", "/usr", "/etc", "/home"} {
		assert.Error(t, checkArchiveDest(dest, env), "destination %s accepted", dest)
	}
	require.NoError(t, extractArchive(archive, filepath.Join(home, "data"), env), "a dir in the home")
	b, err := os.ReadFile(filepath.Join(home, "data", "f"))
	require.NoError(t, err, "extracted")
	require.Equal(t, "y", string(b), "extracted")
}

// TestLogsWebSocketChecksOrigin: a web page (another origin) cannot read
// the job's logs through the browser of someone who reaches the runner.
func TestLogsWebSocketChecksOrigin(t *testing.T) {
	tr := startRunner(t, nil)
	tr.startJob(t, submitBody("echo hi"))
	wsURL, err := client.LogsWebSocketURL(tr.url, time.Time{})
	require.NoError(t, err)
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"http://evil.example"}})
	if err == nil {
		conn.Close()
	}
	require.Error(t, err, "a cross-origin websocket was accepted")
	require.NotNil(t, resp, "cross-origin answer: %v", err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "cross-origin answer: %v", err)

	conn, _, err = websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {tr.url}})
	require.NoError(t, err, "same-origin websocket")
	conn.Close()
}
