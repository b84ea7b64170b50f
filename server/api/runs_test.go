package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"mime/multipart"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/server/api/apitest"
)

// taskRunSpec is the run spec of a small task as the official client sends
// it; name "" leaves the name to the server.
func taskRunSpec(name string, archives ...M) M {
	spec := M{
		"repo_id": "none", "repo_data": M{"repo_type": "virtual"}, "file_archives": archives,
		"configuration": M{"type": "task", "commands": []string{"echo hi"},
			"resources": M{"cpu": M{"count": M{"min": 1}}, "memory": M{"min": 0.1}, "disk": M{"size": M{"min": 1}}}},
		"profile": M{"name": "default"},
	}
	if name != "" {
		spec["run_name"] = name
	}
	return spec
}

// applyRun posts runs/apply for spec in project as token.
func applyRun(s *apitest.Server, token, project string, spec M) *apitest.Response {
	return s.Post(token, "/api/project/"+project+"/runs/apply", M{"plan": M{"run_spec": spec}, "force": false})
}

// uploadFile posts data as the multipart field "file" named filename.
func uploadFile(t *testing.T, s *apitest.Server, token, path, filename string, data []byte) *apitest.Response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	part, err := mw.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return s.Do(apitest.Request{Path: path, Token: token, Body: b.Bytes(),
		Header: map[string]string{"Content-Type": mw.FormDataContentType()}})
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// liveRunNames lists the project's runs by name as token sees them.
func liveRunNames(t *testing.T, s *apitest.Server, token, project string) []string {
	t.Helper()
	var runs []struct {
		RunSpec struct {
			RunName string `json:"run_name"`
		} `json:"run_spec"`
	}
	s.OK(token, "/api/runs/list", M{"project_name": project, "limit": 100}, &runs)
	var names []string
	for _, r := range runs {
		names = append(names, r.RunSpec.RunName)
	}
	return names
}

// TestRunRefusesAnotherUsersArchive: archive ids are visible to every
// project member in runs/get, but only their uploader may mount them.
func TestRunRefusesAnotherUsersArchive(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, bob := s.CreateUser("alice", "user"), s.CreateUser("bob", "user")
		s.CreateProject(alice, "p", false)
		s.AddMember(alice, "p", "bob", "user")

		secret := []byte("bob's private files")
		var bobs struct{ ID string }
		r := uploadFile(t, s, bob, "/api/files/upload_archive", sha256Hex(secret), secret)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.NoError(t, jsonUnmarshal(r.Body, &bobs))

		for _, path := range []string{"/api/project/p/runs/get_plan", "/api/project/p/runs/apply"} {
			body := M{"run_spec": taskRunSpec("steal", M{"id": bobs.ID, "path": "/tmp/x"})}
			if path == "/api/project/p/runs/apply" {
				body = M{"plan": body, "force": false}
			}
			d := apitest.Require400(t, s.Post(alice, path, body), "resource_not_exists")
			require.Contains(t, d.Msg, bobs.ID, "%s names the archive", path)
		}
		require.Empty(t, liveRunNames(t, s, alice, "p"), "nothing is stored")

		mine := []byte("alice's files")
		var own struct{ ID string }
		r = uploadFile(t, s, alice, "/api/files/upload_archive", sha256Hex(mine), mine)
		require.NoError(t, jsonUnmarshal(r.Body, &own))
		r = applyRun(s, alice, "p", taskRunSpec("mine", M{"id": own.ID, "path": "/tmp/x"}))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = applyRun(s, bob, "p", taskRunSpec("bobs", M{"id": bobs.ID, "path": "/tmp/x"}))
		require.Equal(t, http.StatusOK, r.Status, "the uploader mounts their own archive: %s", r.Body)
	})
}

// TestUploadsVerifyTheirHash: a blob is stored under the sha256 of its
// content, so nobody can plant a blob under a hash someone else will upload.
func TestUploadsVerifyTheirHash(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, mallory := s.CreateUser("alice", "user"), s.CreateUser("mallory", "user")
		s.CreateProject(alice, "p", false)
		s.AddMember(alice, "p", "mallory", "user")
		s.OK(alice, "/api/project/p/repos/init", M{"repo_id": "r1", "repo_info": M{"repo_type": "local", "repo_dir": "/src"}}, nil)

		code := []byte("alice's code diff")
		planted := []byte("mallory's payload")
		codePath := "/api/project/p/repos/upload_code?repo_id=r1"
		d := apitest.Require400(t, uploadFile(t, s, mallory, codePath, sha256Hex(code), planted), "error")
		require.Contains(t, d.Msg, sha256Hex(planted), "the answer says what the content hashes to")
		d = apitest.Require400(t, uploadFile(t, s, mallory, "/api/files/upload_archive", sha256Hex(code), planted), "error")
		require.Contains(t, d.Msg, sha256Hex(code))
		apitest.Require400(t, uploadFile(t, s, alice, codePath, "not-a-hash", code), "error")

		r := uploadFile(t, s, alice, codePath, sha256Hex(code), code)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = uploadFile(t, s, alice, codePath, sha256Hex(code), code)
		require.Equal(t, http.StatusOK, r.Status, "uploading the same blob again is fine: %s", r.Body)
		r = uploadFile(t, s, mallory, "/api/files/upload_archive", sha256Hex(planted), planted)
		require.Equal(t, http.StatusOK, r.Status, "a blob under its own hash is accepted: %s", r.Body)
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestRunNamesAreUniqueAmongLiveRuns: concurrent applies of one name store
// one run, and generated names never repeat a live run's name.
func TestRunNamesAreUniqueAmongLiveRuns(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = applyRun(s, apitest.AdminToken, "main", taskRunSpec("twin")).Status
			}()
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			if st == http.StatusOK {
				ok++
			} else {
				require.Equal(t, http.StatusBadRequest, st)
			}
		}
		require.Equal(t, 1, ok, "exactly one apply of a name wins: %v", statuses)
		require.Equal(t, []string{"twin"}, liveRunNames(t, s, apitest.AdminToken, "main"))

		// 150 generated names out of 40×40 adjective-animal pairs: pairs
		// repeat (almost surely), the names must not.
		for i := range 150 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := applyRun(s, apitest.AdminToken, "main", taskRunSpec(""))
				assert.Equal(t, http.StatusOK, r.Status, "apply %d: %s", i, r.Body)
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, name := range liveRunNamesAll(t, s) {
			require.False(t, seen[name], "two live runs are named %s", name)
			seen[name] = true
		}
		require.Len(t, seen, 151)
	})
}

// liveRunNamesAll lists every run of project main, paging through.
func liveRunNamesAll(t *testing.T, s *apitest.Server) []string {
	t.Helper()
	var names []string
	var prev M
	for {
		req := M{"project_name": "main", "limit": 100, "ascending": true}
		for k, v := range prev {
			req[k] = v
		}
		var runs []struct {
			ID          string `json:"id"`
			SubmittedAt string `json:"submitted_at"`
			RunSpec     struct {
				RunName string `json:"run_name"`
			} `json:"run_spec"`
		}
		s.OK(apitest.AdminToken, "/api/runs/list", req, &runs)
		for _, r := range runs {
			names = append(names, r.RunSpec.RunName)
		}
		if len(runs) < 100 {
			return names
		}
		last := runs[len(runs)-1]
		prev = M{"prev_submitted_at": last.SubmittedAt, "prev_run_id": last.ID}
	}
}

// TestProjectDeleteRefusesActiveWork: a project with active runs or fleets
// is not deleted (upstream's rule), and says which ones hold it.
func TestProjectDeleteRefusesActiveWork(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice := s.CreateUser("alice", "user")
		s.CreateProject(alice, "busy", false)
		r := applyRun(s, alice, "busy", taskRunSpec("worker"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

		d := apitest.Require400(t, s.Post(alice, "/api/projects/delete", M{"projects_names": []string{"busy"}}), "error")
		require.Contains(t, d.Msg, "worker")
		s.OK(alice, "/api/projects/busy/get", nil, nil)
		require.Equal(t, []string{"worker"}, liveRunNames(t, s, alice, "busy"), "the run is still reachable")

		s.OK(alice, "/api/project/busy/runs/stop", M{"runs_names": []string{"worker"}, "abort": true}, nil)
		d = apitest.Require400(t, s.Post(alice, "/api/projects/delete", M{"projects_names": []string{"busy"}}), "error")
		require.Contains(t, d.Msg, "worker", "a run still terminating holds the project too")

		s.CreateProject(alice, "idle", false)
		s.OK(alice, "/api/projects/delete", M{"projects_names": []string{"idle"}}, nil)
		r = s.Post(alice, "/api/projects/idle/get", nil)
		require.Equal(t, http.StatusNotFound, r.Status)

		s.CreateProject(alice, "fleets", false)
		s.OK(alice, "/api/project/fleets/fleets/apply", M{"plan": M{"spec": sshFleetSpec(t, "lab")}, "force": false}, nil)
		d = apitest.Require400(t, s.Post(alice, "/api/projects/delete", M{"projects_names": []string{"fleets"}}), "error")
		require.Contains(t, d.Msg, "lab")
		s.OK(alice, "/api/projects/fleets/get", nil, nil)
	})
}

// sshFleetSpec is an SSH fleet of hosts that no test contacts (the API
// tests run without background processing); 192.0.2.10 when none.
func sshFleetSpec(t *testing.T, name string, hosts ...string) M {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	if len(hosts) == 0 {
		hosts = []string{"192.0.2.10"}
	}
	return M{"configuration": M{"type": "fleet", "name": name, "ssh_config": M{
		"user": "ubuntu", "hosts": hosts,
		"ssh_key": M{"private": string(pem.EncodeToMemory(block)), "public": string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}}},
		"profile": M{"name": "default"}}
}

// TestRunSSHKeyMustBeOneKey: the run's key goes into a host user's
// authorized_keys; more than one bare key would grant more than the run.
func TestRunSSHKeyMustBeOneKey(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		for name, key := range map[string]string{
			"two-lines":    testPublicKey + " me\n" + testPublicKey + " other",
			"carriage":     testPublicKey + "\rcommand=\"sh\" " + testPublicKey,
			"with-options": `command="/bin/sh" ` + testPublicKey,
			"not-a-key":    "hello",
		} {
			spec := taskRunSpec(name)
			spec["ssh_key_pub"] = key
			d := apitest.Require400(t, applyRun(s, apitest.AdminToken, "main", spec), "error")
			require.Equal(t, []string{"ssh_key_pub"}, d.Fields, name)
		}
		spec := taskRunSpec("good")
		spec["ssh_key_pub"] = testPublicKey + " me@laptop\n"
		r := applyRun(s, apitest.AdminToken, "main", spec)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	})
}
