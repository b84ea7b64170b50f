package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "schemas", name))
	require.NoError(t, err)
	return bytes.TrimSpace(data)
}

func TestTaskConfigBodyMatchesServerShape(t *testing.T) {
	raw := golden(t, "task_submit_request.json")
	var body TaskConfigBody
	require.NoError(t, json.Unmarshal(raw, &body))
	if body.GPU != -1 || body.NetworkMode != NetworkModeHost || len(body.ContainerSSHKeys) != 2 ||
		body.Volumes[0].VolumeID != "vol-0123" || body.InstanceMounts[0].InstancePath != "/mnt/cache" {
		require.FailNow(t, fmt.Sprintf("decoded = %+v", body))
	}
	out, err := json.Marshal(body)
	require.NoError(t, err)
	// Same keys in the same order; only device_name null becomes "".
	want := bytes.Replace(raw, []byte(`"device_name":null`), []byte(`"device_name":""`), 1)
	require.Equal(t, want, out, "re-encoded:\n%s\nwant:\n%s", out, want)
}

func TestSubmitBodyDecodesServerJSON(t *testing.T) {
	var body SubmitBody
	require.NoError(t, json.Unmarshal(golden(t, "submit_body.json"), &body))
	js := body.JobSpec
	if body.Run.RunSpec.RunName != "my-task" || len(js.Commands) != 4 || *js.RepoDir != "/workflow" ||
		js.WorkingDir != nil || *js.User.Username != "root" || js.User.UID != nil ||
		*js.RepoExistsAction != RepoExistsActionError || js.FileArchives[0].Path != "~/data" ||
		body.ClusterInfo.GPUsPerNode[0] != 0 || body.RepoCredentials != nil || body.LogQuotaHour != 0 ||
		body.RunSpec == nil || len(body.Run.RunSpec.Configuration) == 0 {
		require.FailNow(t, fmt.Sprintf("decoded = %+v", body))
	}
}

func TestPullResponseEncoding(t *testing.T) {
	zero := 0
	resp := PullResponse{
		JobStates:   []JobStateEvent{{State: JobStateDone, Timestamp: 1795726303734, ExitStatus: &zero}},
		JobLogs:     []LogEvent{{Message: []byte("hello\n"), Timestamp: 1795726303730}},
		RunnerLogs:  []LogEvent{},
		LastUpdated: 1795726303734,
	}
	out, err := json.Marshal(resp)
	require.NoError(t, err)
	if want := golden(t, "pull_response.json"); !bytes.Equal(out, want) {
		require.FailNow(t, fmt.Sprintf("encoded:\n%s\nwant:\n%s", out, want))
	}
}

func TestTaskInfoPortsNullUntilRunning(t *testing.T) {
	out, _ := json.Marshal(TaskInfoResponse{ID: "x", Status: TaskStatusPulling})
	require.False(t, !bytes.Contains(out, []byte(`"ports":null`)) || !bytes.Contains(out, []byte(`"image_pull_progress":null`)), "encoded = %s", out)
}
