package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "agent", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(data)
}

func TestTaskConfigBodyMatchesServerShape(t *testing.T) {
	raw := golden(t, "task_submit_request.json")
	var body TaskConfigBody
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.GPU != -1 || body.NetworkMode != NetworkModeHost || len(body.ContainerSSHKeys) != 2 ||
		body.Volumes[0].VolumeID != "vol-0123" || body.InstanceMounts[0].InstancePath != "/mnt/cache" {
		t.Fatalf("decoded = %+v", body)
	}
	out, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	// Same keys in the same order; only device_name null becomes "".
	want := bytes.Replace(raw, []byte(`"device_name":null`), []byte(`"device_name":""`), 1)
	if !bytes.Equal(out, want) {
		t.Fatalf("re-encoded:\n%s\nwant:\n%s", out, want)
	}
}

func TestSubmitBodyDecodesServerJSON(t *testing.T) {
	var body SubmitBody
	if err := json.Unmarshal(golden(t, "submit_body.json"), &body); err != nil {
		t.Fatal(err)
	}
	js := body.JobSpec
	if body.Run.RunSpec.RunName != "my-task" || len(js.Commands) != 4 || *js.RepoDir != "/workflow" ||
		js.WorkingDir != nil || *js.User.Username != "root" || js.User.UID != nil ||
		*js.RepoExistsAction != RepoExistsActionError || js.FileArchives[0].Path != "~/data" ||
		body.ClusterInfo.GPUsPerNode[0] != 0 || body.RepoCredentials != nil || body.LogQuotaHour != 0 ||
		body.RunSpec == nil || len(body.Run.RunSpec.Configuration) == 0 {
		t.Fatalf("decoded = %+v", body)
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
	if err != nil {
		t.Fatal(err)
	}
	if want := golden(t, "pull_response.json"); !bytes.Equal(out, want) {
		t.Fatalf("encoded:\n%s\nwant:\n%s", out, want)
	}
}

func TestTaskInfoPortsNullUntilRunning(t *testing.T) {
	out, _ := json.Marshal(TaskInfoResponse{ID: "x", Status: TaskStatusPulling})
	if !bytes.Contains(out, []byte(`"ports":null`)) || !bytes.Contains(out, []byte(`"image_pull_progress":null`)) {
		t.Fatalf("encoded = %s", out)
	}
}
