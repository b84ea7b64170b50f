package cli

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// writeConf writes a configuration file into a temp working directory and
// returns its name relative to it.
func writeConf(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	return name
}

const helloTask = "type: task\nname: hello\ncommands:\n  - echo hello\n  - echo bye\n"

func runFake(t *testing.T) *fakeServer {
	return newFake(t).
		on("/api/project/main/repos/init", ok("null")).
		on("/api/project/main/runs/get_plan", ok("run_plan.json")).
		on("/api/project/main/fleets/list", ok("fleets_list.json"))
}

func TestApplyTaskDetached(t *testing.T) {
	file := writeConf(t, "hello.dstack.yml", helloTask)
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := runFake(t).on("/api/project/main/runs/apply", ok(mustJSON(t, runs[0])))
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y", "-d"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Run hello submitted, detaching...")
	require.Contains(t, res.Stdout, "Shown 3 of 12 offers")
	require.Equal(t, []string{"/api/project/main/repos/init", "/api/project/main/runs/get_plan", "/api/project/main/runs/apply"}, f.paths())
	requireBody(t, `{"repo_id":"none","repo_info":{"repo_type":"virtual"},"repo_creds":null}`, f.requests("/api/project/main/repos/init")[0].Body)

	var plan map[string]any
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/runs/get_plan")[0].Body, &plan))
	require.Equal(t, 3.0, plan["max_offers"])
	require.Equal(t, false, plan["full_offers"])
	require.Equal(t, false, plan["for_offers_only"])
	spec := plan["run_spec"].(map[string]any)
	require.Equal(t, "hello", spec["run_name"])
	require.Equal(t, "none", spec["repo_id"])
	require.Equal(t, map[string]any{"repo_type": "virtual"}, spec["repo_data"])
	require.Equal(t, "hello.dstack.yml", spec["configuration_path"])
	require.Equal(t, []any{}, spec["file_archives"])
	require.Nil(t, spec["ssh_key_pub"])
	require.Contains(t, spec, "working_dir")
	conf := spec["configuration"].(map[string]any)
	require.Equal(t, "task", conf["type"])
	require.Equal(t, []any{"echo hello", "echo bye"}, conf["commands"])
	require.NotContains(t, conf, "nodes", "nodes is omitted when unset, as the CLI sends it")
	require.Equal(t, "default", spec["profile"].(map[string]any)["name"])

	var applied map[string]any
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/runs/apply")[0].Body, &applied))
	require.Equal(t, false, applied["force"])
	p := applied["plan"].(map[string]any)
	require.Nil(t, p["current_resource"])
	require.Equal(t, spec, p["run_spec"], "runs/apply sends the planned spec")
}

func TestApplyNoFleets(t *testing.T) {
	file := writeConf(t, "hello.dstack.yml", helloTask)
	f := runFake(t).on("/api/project/main/runs/get_plan", ok("run_plan_no_offers.json")).
		on("/api/project/main/fleets/list", ok("fleets_list_empty.json"))
	res := runCLI(t, "n\n", append([]string{"apply", "-f", file}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "The project has no fleets")
	require.Contains(t, res.Stdout, "Submit the run hello? [y/n]: ")
	require.Contains(t, res.Stdout, "Exiting...")
	requireBody(t, `{"include_imported":true}`, f.requests("/api/project/main/fleets/list")[0].Body)
	require.Empty(t, f.requests("/api/project/main/runs/apply"), "answering n submits nothing")
}

func TestApplyUploadsFiles(t *testing.T) {
	file := writeConf(t, "hello.dstack.yml", helloTask+"files:\n  - src:/app/src\n")
	require.NoError(t, os.MkdirAll("src/pkg", 0o755))
	require.NoError(t, os.WriteFile("src/main.py", []byte("print('hi')\n"), 0o644))
	require.NoError(t, os.WriteFile("src/pkg/util.py", []byte("X = 1\n"), 0o644))
	require.NoError(t, os.WriteFile("src/secret.key", []byte("k"), 0o600))
	require.NoError(t, os.WriteFile("src/.gitignore", []byte("*.key\n"), 0o644))
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := runFake(t).on("/api/files/upload_archive", ok("file_archive.json")).
		on("/api/project/main/runs/apply", ok(mustJSON(t, runs[0])))
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y", "-d"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)

	up := f.requests("/api/files/upload_archive")
	require.Len(t, up, 1)
	mediaType, params, err := mime.ParseMediaType(up[0].Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mediaType)
	part, err := multipart.NewReader(bytes.NewReader(up[0].Body), params["boundary"]).NextPart()
	require.NoError(t, err)
	require.Equal(t, "file", part.FormName())
	archive, err := io.ReadAll(part)
	require.NoError(t, err)
	sum := sha256.Sum256(archive)
	require.Equal(t, hex.EncodeToString(sum[:]), part.FileName(), "the filename is the archive's sha256")
	require.Equal(t, []string{"src/", "src/.gitignore", "src/main.py", "src/pkg/", "src/pkg/util.py"}, tarNames(t, archive))

	var plan struct {
		RunSpec struct {
			FileArchives  []schemas.FileArchiveRef `json:"file_archives"`
			Configuration struct {
				Files []schemas.FilePathMapping `json:"files"`
			} `json:"configuration"`
		} `json:"run_spec"`
	}
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/runs/get_plan")[0].Body, &plan))
	require.Equal(t, []schemas.FileArchiveRef{{ID: "5a1b2c3d-0000-4000-8000-000000000001", Path: "/app/src"}}, plan.RunSpec.FileArchives)
	wd, _ := os.Getwd()
	require.Equal(t, filepath.Join(wd, "src"), plan.RunSpec.Configuration.Files[0].LocalPath, "local paths are sent absolute")
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}

func TestApplyFollowsRun(t *testing.T) {
	file := writeConf(t, "hello.dstack.yml", helloTask)
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle.json")
	f := runFake(t).on("/api/project/main/runs/apply", ok(mustJSON(t, runs[0]))).
		on("/api/project/main/runs/get", ok(mustJSON(t, runs[1])), ok(mustJSON(t, runs[2])), ok(mustJSON(t, runs[2])), ok(mustJSON(t, runs[3]))).
		on("/api/project/main/logs/poll", ok("logs_page1.json"), ok("logs_page2.json"), ok("logs_empty.json"))
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	out := res.Stdout
	for _, want := range []string{"hello: submitted\n", "hello: provisioning\n", "hello provisioning completed (running)\n", "hello\nwörld ✓\nbye\n", "Exited (0)\n"} {
		require.Contains(t, out, want)
	}
	require.Less(t, strings.Index(out, "provisioning completed"), strings.Index(out, "wörld"))
}

func TestApplyRunFails(t *testing.T) {
	file := writeConf(t, "hello.dstack.yml", helloTask)
	runs := decodeFixture[[]schemas.Run](t, "run_lifecycle_failed.json")
	f := runFake(t).on("/api/project/main/runs/apply", ok(mustJSON(t, runs[0]))).
		on("/api/project/main/runs/get", ok(mustJSON(t, runs[1]))).
		on("/api/project/main/logs/poll", ok("logs_empty.json"))
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y"}, f.flags()...)...)
	require.Equal(t, 1, res.Code, res.Stdout)
	require.Contains(t, res.Stderr, "Error: run hello failed: exited (3)")
	require.Contains(t, res.Stderr, "dstack logs -d hello")
}

func TestApplyInvalidConfiguration(t *testing.T) {
	file := writeConf(t, "bad.dstack.yml", "type: task\ncommands: [x]\nresources:\n  gpu: A100:x:y:2\n")
	f := runFake(t)
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y"}, f.flags()...)...)
	require.Equal(t, 1, res.Code)
	require.True(t, strings.HasPrefix(res.Stderr, "Error: bad.dstack.yml:4: resources.gpu: "), res.Stderr)
	require.Equal(t, 1, strings.Count(res.Stderr, "\n"), "one line")
	require.Empty(t, f.paths(), "nothing is sent for an invalid file")

	res = runCLI(t, "", append([]string{"apply", "-f", "missing.yml", "-y"}, f.flags()...)...)
	require.Equal(t, 1, res.Code)
	require.Contains(t, res.Stderr, "missing.yml")
}

func TestInterrupter(t *testing.T) {
	f := newFake(t).on("/api/project/main/runs/stop", ok("null"))
	cn := &conn{Client: client.New(f.URL, "tok"), Project: "main"}
	detached := make(chan struct{})
	var errw bytes.Buffer
	h := &interrupter{cn: cn, run: "hello", errw: &errw, detach: func() { close(detached) }}
	sigs := make(chan os.Signal, 3)
	for range 3 {
		sigs <- os.Interrupt
	}
	h.watch(t.Context(), sigs)
	<-detached
	stops := f.requests("/api/project/main/runs/stop")
	require.Len(t, stops, 2)
	requireBody(t, `{"runs_names":["hello"],"abort":false}`, stops[0].Body)
	requireBody(t, `{"runs_names":["hello"],"abort":true}`, stops[1].Body)
	require.Contains(t, errw.String(), "Detached")
}

func TestApplyFleet(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	writeTestKey(t, key)
	file := writeConf(t, "fleet.dstack.yml", "type: fleet\nname: gpu-fleet\nblocks: 4\nssh_config:\n  user: ubuntu\n  identity_file: "+key+"\n  hosts:\n    - 10.0.0.11\n    - hostname: 10.0.0.12\n      port: 2222\n")
	fleets := decodeFixture[[]schemas.Fleet](t, "fleet_provisioning.json")
	f := newFake(t).on("/api/project/main/fleets/get_plan", ok("fleet_plan_ssh.json")).
		on("/api/project/main/fleets/apply", ok(mustJSON(t, fleets[0]))).
		on("/api/project/main/fleets/get", ok(mustJSON(t, fleets[1])))
	res := runCLI(t, "", append([]string{"apply", "-f", file, "-y"}, f.flags()...)...)
	require.Equal(t, 1, res.Code, "a host ended up terminated: %s", res.Stdout)
	require.Contains(t, res.Stderr, "some instances of gpu-fleet failed")
	require.Contains(t, res.Stdout, "provisioning_timeout")
	require.Contains(t, res.Stdout, "Provisioning gpu-fleet...")

	var plan struct {
		Spec schemas.FleetSpec `json:"spec"`
	}
	body := f.requests("/api/project/main/fleets/get_plan")[0].Body
	require.NoError(t, json.Unmarshal(body, &plan), "%s", body)
	require.NotContains(t, string(body), "autocreated")
	k := plan.Spec.Configuration.SSHConfig.SSHKey
	require.NotNil(t, k, "the identity file is embedded")
	require.Contains(t, *k.Private, "PRIVATE KEY")
	require.True(t, strings.HasPrefix(k.Public, "ssh-ed25519 "))
	require.Equal(t, "fleet.dstack.yml", *plan.Spec.ConfigurationPath)
	var applied map[string]any
	require.NoError(t, json.Unmarshal(f.requests("/api/project/main/fleets/apply")[0].Body, &applied))
	require.Equal(t, false, applied["force"])
	require.Contains(t, applied["plan"], "current_resource")
	requireBody(t, `{"name":"gpu-fleet","id":null}`, f.requests("/api/project/main/fleets/get")[0].Body)

	res = runCLI(t, "", append([]string{"apply", "-f", file, "-y", "-d"}, f.flags()...)...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "Fleet gpu-fleet submitted, detaching...")
}

func writeTestKey(t *testing.T, path string) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
}
