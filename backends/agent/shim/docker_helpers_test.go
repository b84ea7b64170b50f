package shim

import (
	"archive/tar"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
)

const testImage = "dstack-test/busybox:1"

// requireDocker skips without a Docker socket, but fails under CI=true.
func requireDocker(t *testing.T) *dockerAPI {
	t.Helper()
	if _, err := os.Stat(DefaultDockerSocket); err != nil {
		require.True(t, os.Getenv("CI") != "true", "CI=true but no Docker socket: %v", err)
		t.Skipf("no Docker socket: %v", err)
	}
	return newDockerAPI(DefaultDockerSocket)
}

// ensureBusyboxImage imports dstack-test/busybox:1 from /bin/busybox (package
// busybox-static): busybox, its applet links, /etc/passwd and /tmp.
func ensureBusyboxImage(t *testing.T, api *dockerAPI) {
	t.Helper()
	ctx := context.Background()
	if api.call(ctx, http.MethodGet, "/images/"+testImage+"/json", nil, nil, nil) == nil {
		return
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		require.True(t, os.Getenv("CI") != "true", "no /bin/busybox (apt-get install -y busybox-static): %v", err)
		t.Skipf("no /bin/busybox (apt-get install -y busybox-static): %v", err)
	}
	bin, err := os.ReadFile("/bin/busybox")
	require.NoError(t, err)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"bin/", "etc/", "root/", "usr/", "usr/local/", "usr/local/bin/"} {
		dir(d, 0o755)
	}
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			_ = tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	require.NoError(t, tw.Close())
	q := url.Values{"fromSrc": {"-"}, "repo": {"dstack-test/busybox"}, "tag": {"1"}}
	var status map[string]any
	require.NoError(t, api.call(ctx, http.MethodPost, "/images/create", q, &buf, &status), "import busybox image")
}

// removeTaskContainers force-removes every container labelled with the task id.
func removeTaskContainers(t *testing.T, api *dockerAPI, taskID string) {
	filters := `{"label":["` + labelTaskID + `=` + taskID + `"]}`
	var list []struct {
		ID string `json:"Id"`
	}
	ctx := context.Background()
	err := api.call(ctx, http.MethodGet, "/containers/json", url.Values{"all": {"1"}, "filters": {filters}}, nil, &list)
	if !assert.NoError(t, err, "list containers") {
		return
	}

	for _, c := range list {
		_ = api.call(ctx, http.MethodDelete, "/containers/"+c.ID, url.Values{"force": {"1"}}, nil, nil)
	}
}

func freePort(t *testing.T) int { return testutil.FreePort(t) }

// assertHostConfig checks the limits and mounts of the bridge test's container.
func assertHostConfig(t *testing.T, api *dockerAPI, containerID string) {
	t.Helper()
	var hc struct{ HostConfig dockerHostConfig }
	require.NoError(t, api.call(context.Background(), http.MethodGet, "/containers/"+containerID+"/json", nil, nil, &hc))
	h := hc.HostConfig
	require.False(t, h.NanoCpus != 5e8 || h.Memory != 64<<20 || h.NetworkMode != "bridge" || len(h.Mounts) != 3 || h.ShmSize != 16<<20, "host config = %+v", h)
}
