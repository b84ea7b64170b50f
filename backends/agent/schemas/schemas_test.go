package schemas

import (
	"bytes"
	"encoding/json"
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
	require.Equal(t, -1, body.GPU, "gpu")
	require.Equal(t, NetworkModeHost, body.NetworkMode, "network mode")
	require.Len(t, body.ContainerSSHKeys, 2, "container ssh keys")
	require.NotEmpty(t, body.Volumes, "volumes")
	require.Equal(t, "vol-0123", body.Volumes[0].VolumeID, "volume id")
	require.NotEmpty(t, body.InstanceMounts, "instance mounts")
	require.Equal(t, "/mnt/cache", body.InstanceMounts[0].InstancePath, "instance mount path")
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
	require.Equal(t, "my-task", body.Run.RunSpec.RunName, "run name")
	require.Len(t, js.Commands, 4, "commands")
	require.NotNil(t, js.RepoDir, "repo dir")
	require.Equal(t, "/workflow", *js.RepoDir, "repo dir")
	require.Nil(t, js.WorkingDir, "working dir")
	require.NotNil(t, js.User, "user")
	require.NotNil(t, js.User.Username, "user name")

	require.Equal(t, "root", *js.User.Username, "user name")
	require.Nil(t, js.User.UID, "user uid")
	require.NotNil(t, js.RepoExistsAction, "repo exists action")
	require.Equal(t, RepoExistsActionError, *js.RepoExistsAction, "repo exists action")
	require.NotEmpty(t, js.FileArchives, "file archives")
	require.Equal(t, "~/data", js.FileArchives[0].Path, "file archive path")
	require.NotEmpty(t, body.ClusterInfo.GPUsPerNode, "gpus per node")
	require.Zero(t, body.ClusterInfo.GPUsPerNode[0], "gpus per node")
	require.Nil(t, body.RepoCredentials, "repo credentials")
	require.Zero(t, body.LogQuotaHour, "log quota hour")
	require.NotNil(t, body.RunSpec, "run spec")
	require.NotEmpty(t, body.Run.RunSpec.Configuration, "run spec configuration")
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
	want := golden(t, "pull_response.json")
	require.Equal(t, string(want), string(out), "encoded")

}

func TestTaskInfoPortsNullUntilRunning(t *testing.T) {
	out, _ := json.Marshal(TaskInfoResponse{ID: "x", Status: TaskStatusPulling})
	require.Contains(t, string(out), `"ports":null`, "encoded")
	require.Contains(t, string(out), `"image_pull_progress":null`, "encoded")

}
