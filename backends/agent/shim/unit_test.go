package shim

import (
	"fmt"
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
			if got := transitionAllowed(from, to); got != want {
				assert.Fail(t, fmt.Sprintf("%s -> %s = %v, want %v", from, to, got, want))
			}
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
		if n, tag := imageRef(in); n != want[0] || tag != want[1] {
			assert.Fail(t, fmt.Sprintf("imageRef(%q) = %q, %q", in, n, tag))
		}
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
	if p := tr.progress(); p.DownloadedBytes != 50 || p.TotalBytes != 100 || !p.IsTotalBytesFinal {
		require.FailNow(t, fmt.Sprintf("progress = %+v", p))
	}
	tr.update(msg("c", "Waiting", 0, 0))
	require.False(t, tr.progress().IsTotalBytesFinal, "total final with a waiting layer")
	tr.update(msg("a", "Pull complete", 0, 0))
	if p := tr.progress(); p.ExtractedBytes != 100 || p.DownloadedBytes != 100 {
		require.FailNow(t, fmt.Sprintf("progress = %+v", p))
	}
}

func TestExtractPortsAndGPULock(t *testing.T) {
	ports := extractPorts(map[string][]dockerPortBinding{
		"10999/tcp": {{HostIP: "127.0.0.1", HostPort: "32768"}, {HostIP: "::1", HostPort: "32768"}},
		"53/udp":    {{HostIP: "127.0.0.1", HostPort: "5353"}},
	})
	if want := []schemas.PortMapping{{Host: 32768, Container: 10999}}; !reflect.DeepEqual(ports, want) {
		require.FailNow(t, fmt.Sprintf("ports = %+v", ports))
	}
	l := newGPULock([]string{"GPU-b", "GPU-a", "GPU-c"})
	two, err := l.acquire(2)
	require.False(t, err != nil || !reflect.DeepEqual(two, []string{"GPU-a", "GPU-b"}), "acquire(2) = %v, %v", two, err)
	_, err = l.acquire(2)
	require.Error(t, err, "over-acquire succeeded")
	rest, _ := l.acquire(-1)
	l.release(two)
	all, _ := l.acquire(-1)
	sort.Strings(all)
	require.False(t, !reflect.DeepEqual(rest, []string{"GPU-c"}) || !reflect.DeepEqual(all, []string{"GPU-a", "GPU-b"}), "rest = %v, all = %v", rest, all)
	if none, err := newGPULock(nil).acquire(-1); err != nil || len(none) != 0 {
		require.FailNow(t, fmt.Sprintf("acquire(-1) without GPUs = %v, %v", none, err))
	}
}
