package shim

import (
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

func TestTaskTransitions(t *testing.T) {
	order := []schemas.TaskStatus{
		schemas.TaskStatusPending, schemas.TaskStatusPreparing, schemas.TaskStatusPulling,
		schemas.TaskStatusCreating, schemas.TaskStatusRunning, schemas.TaskStatusTerminated,
	}
	for i, from := range order {
		for j, to := range order {
			want := j == i+1 || to == schemas.TaskStatusTerminated ||
				(from == schemas.TaskStatusRunning && to == schemas.TaskStatusRunning)
			assert.Equal(t, want, transitionAllowed(from, to), "%s -> %s", from, to)
		}
	}
}

func TestTerminateKeepsFirstReason(t *testing.T) {
	s := newTaskStore()
	_ = s.add("a", &task{status: schemas.TaskStatusRunning})
	_ = s.terminate("a", schemas.TerminationReasonDoneByRunner, "")
	_ = s.terminate("a", schemas.TerminationReasonTerminatedByServer, "late")
	info, _ := s.info("a")
	require.False(t, info.TerminationReason != "done_by_runner" || info.TerminationMessage != "", "info = %+v", info)
	require.Error(t, s.transition("a", schemas.TaskStatusRunning, nil), "terminated -> running allowed")
}

func TestImageRef(t *testing.T) {
	cases := map[string][2]string{
		"ubuntu":                      {"ubuntu", "latest"},
		"ubuntu:22.04":                {"ubuntu", "22.04"},
		"localhost:5000/img":          {"localhost:5000/img", "latest"},
		"localhost:5000/img:v1":       {"localhost:5000/img", "v1"},
		"img@sha256:0123456789abcdef": {"img@sha256:0123456789abcdef", ""},
	}
	for in, want := range cases {
		n, tag := imageRef(in)
		assert.Equal(t, want, [2]string{n, tag}, "imageRef(%q)", in)
	}
}

func TestPullTracker(t *testing.T) {
	tr := &pullTracker{layers: map[string]*layerProgress{}}
	msg := func(id, status string, cur, total uint64) pullMessage {
		m := pullMessage{ID: id, Status: status}
		m.ProgressDetail.Current, m.ProgressDetail.Total = cur, total
		return m
	}
	tr.update(msg("3.11", "Pulling from library/python", 0, 0))
	tr.update(msg("a", "Pulling fs layer", 0, 0))
	tr.update(msg("b", "Already exists", 0, 0))
	tr.update(msg("a", "Downloading", 50, 100))
	p := tr.progress()
	require.Equal(t, uint64(50), p.DownloadedBytes, "progress = %+v", p)
	require.Equal(t, uint64(100), p.TotalBytes, "progress = %+v", p)
	require.True(t, p.IsTotalBytesFinal, "progress = %+v", p)
	tr.update(msg("c", "Waiting", 0, 0))
	require.False(t, tr.progress().IsTotalBytesFinal, "total final with a waiting layer")
	tr.update(msg("a", "Pull complete", 0, 0))
	p = tr.progress()
	require.Equal(t, uint64(100), p.ExtractedBytes, "progress = %+v", p)
	require.Equal(t, uint64(100), p.DownloadedBytes, "progress = %+v", p)
}

func TestExtractPortsAndGPULock(t *testing.T) {
	ports := extractPorts(map[string][]dockerPortBinding{
		"10999/tcp": {{HostIP: "127.0.0.1", HostPort: "32768"}, {HostIP: "::1", HostPort: "32768"}},
		"53/udp":    {{HostIP: "127.0.0.1", HostPort: "5353"}},
	})
	require.Equal(t, []schemas.PortMapping{{Host: 32768, Container: 10999}}, ports, "ports")
	l := newGPULock([]string{"GPU-b", "GPU-a", "GPU-c"})
	two, err := l.acquire(2)
	require.False(t, err != nil || !reflect.DeepEqual(two, []string{"GPU-a", "GPU-b"}), "acquire(2) = %v, %v", two, err)
	_, err = l.acquire(2)
	require.Error(t, err, "over-acquire succeeded")
	rest, _ := l.acquire(-1)
	l.release(two)
	all, _ := l.acquire(-1)
	sort.Strings(all)
	require.Equal(t, []string{"GPU-c"}, rest, "rest")
	require.Equal(t, []string{"GPU-a", "GPU-b"}, all, "all")
	none, err := newGPULock(nil).acquire(-1)
	require.NoError(t, err, "acquire(-1) without GPUs")
	require.Empty(t, none, "acquire(-1) without GPUs")

}
