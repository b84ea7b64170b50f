package api_test

// Answers the official CLI sends back: each test takes a request as the CLI
// sends it (the recorded 0.21.2 bodies), the server's answer, and the next
// request the CLI builds from that answer (its sources: api/server/_fleets.py,
// _runs.py, _repos.py, _logs.py, _files.py), and checks that nothing the CLI
// needs is lost on the way and nothing secret comes back.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/services"
)

// recordedBody returns the body of a step of a recorded conversation.
func recordedBody(t *testing.T, fixture, step string) M {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "compat", "requests", fixture))
	require.NoError(t, err)
	var fx compatFixture
	require.NoError(t, json.Unmarshal(data, &fx))
	for _, st := range fx.Steps {
		if st.Name == step {
			var body M
			require.NoError(t, json.Unmarshal([]byte(*st.Body), &body))
			return body
		}
	}
	require.FailNow(t, fmt.Sprintf("%s has no step %q", fixture, step))
	return nil
}

// requireKept fails unless got holds every member of want with the same
// value, at any depth; a null in want may be absent from got (the CLI's
// models read an absent field as null).
func requireKept(t *testing.T, want, got any, path string) {
	t.Helper()
	keep(t, want, got, path, false)
}

// requireKeptOrDefaulted is requireKept where the server may have put its
// default in place of a null.
func requireKeptOrDefaulted(t *testing.T, want, got any, path string) {
	t.Helper()
	keep(t, want, got, path, true)
}

func keep(t *testing.T, want, got any, path string, defaults bool) {
	t.Helper()
	if want == nil && defaults {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		require.True(t, ok, "%s: want an object, got %#v", path, got)
		for k, v := range w {
			gv, present := g[k]
			if !present {
				require.Nil(t, v, "%s.%s: dropped", path, k)
				continue
			}
			keep(t, v, gv, path+"."+k, defaults)
		}
	case []any:
		g, ok := got.([]any)
		require.True(t, ok, "%s: want a list, got %#v", path, got)
		require.Len(t, g, len(w), path)
		for i := range w {
			keep(t, w[i], g[i], fmt.Sprintf("%s[%d]", path, i), defaults)
		}
	default:
		require.Equal(t, want, got, path)
	}
}

// requireNoSecret fails if the answer contains any of secrets.
func requireNoSecret(t *testing.T, r *apitest.Response, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		require.NotContains(t, string(r.Body), s, "%s leaks %q", what, s)
	}
}

func TestRoundTripFleetPlanToApply(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		req := recordedBody(t, "0.21.2-fleets.json", "fleets/get_plan (SSH fleet, key embedded)")
		spec := req["spec"].(M)
		private := spec["configuration"].(M)["ssh_config"].(M)["ssh_key"].(M)["private"].(string)
		path := "/api/project/main/fleets/"

		// The plan gives the spec back as it came, keys included: the CLI
		// applies the plan by sending that spec back.
		plan := s.Post(apitest.AdminToken, path+"get_plan", req).Object(t)
		requireKept(t, spec, plan["spec"], "spec")
		require.NotContains(t, mustJSON(t, plan["effective_spec"]), "PRIVATE KEY", "effective_spec keeps no key")
		require.Nil(t, plan["current_resource"])
		require.Equal(t, "create", plan["action"])

		// What the CLI sends: ApplyFleetPlanInput(spec, current_resource).
		apply := M{"plan": M{"spec": plan["spec"], "current_resource": plan["current_resource"]}, "force": false}
		created := s.Post(apitest.AdminToken, path+"apply", apply)
		require.Equal(t, 200, created.Status, string(created.Body))
		requireNoSecret(t, created, "fleets/apply", private)

		// Applied again: the fleet is the plan's current resource, keyless,
		// and the plan with it applies in place.
		again := s.Post(apitest.AdminToken, path+"get_plan", req)
		plan = again.Object(t)
		requireKept(t, spec, plan["spec"], "spec")
		require.Equal(t, "update", plan["action"])
		cur := plan["current_resource"].(M)
		require.Equal(t, created.Object(t)["id"], cur["id"])
		require.NotContains(t, mustJSON(t, cur), "PRIVATE KEY", "current_resource keeps no key")
		require.NotContains(t, mustJSON(t, plan["effective_spec"]), "PRIVATE KEY")
		apply = M{"plan": M{"spec": plan["spec"], "current_resource": cur}, "force": false}
		updated := s.Post(apitest.AdminToken, path+"apply", apply)
		require.Equal(t, 200, updated.Status, string(updated.Body))
		require.Equal(t, cur["id"], updated.Object(t)["id"])

		// A plan made before the fleet existed no longer applies.
		stale := M{"plan": M{"spec": plan["spec"], "current_resource": nil}, "force": false}
		d := apitest.Require400(t, s.Post(apitest.AdminToken, path+"apply", stale), "error")
		require.Contains(t, d.Msg, "Resource has been changed")

		got := s.Post(apitest.AdminToken, path+"get", M{"name": "compat-fleet"})
		requireNoSecret(t, got, "fleets/get", private)
		stored := got.Object(t)["spec"].(M)
		keyless := cloneJSON(t, spec)
		keyless["configuration"].(M)["ssh_config"].(M)["ssh_key"] = nil
		requireKept(t, keyless, stored, "stored spec")
	})
}

func TestRoundTripRunPlanToApply(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		s.SetSecret(apitest.AdminToken, "main", "hf_token", "s3cr3t-value")
		s.Post(apitest.AdminToken, "/api/project/main/repos/init", recordedBody(t, "0.21.2-runs.json", "repos/init (virtual repo)"))
		req := recordedBody(t, "0.21.2-runs.json", "runs/get_plan")
		runSpec := req["run_spec"].(M)
		runSpec["configuration"].(M)["env"] = M{"HF_TOKEN": "${{ secrets.hf_token }}"}
		runSpec["configuration"].(M)["resources"].(M)["disk"] = M{"size": M{"min": 1.0, "max": nil}}
		path := "/api/project/main/runs/"

		r := s.Post(apitest.AdminToken, path+"get_plan", req)
		require.Equal(t, 200, r.Status, string(r.Body))
		requireNoSecret(t, r, "runs/get_plan", "s3cr3t-value")
		plan := r.Object(t)
		requireKept(t, runSpec, plan["run_spec"], "run_spec")
		requireKeptOrDefaulted(t, runSpec, plan["effective_run_spec"], "effective_run_spec")
		require.NotNil(t, plan["effective_run_spec"].(M)["ssh_key_pub"], "the server's key for the user")
		require.Nil(t, plan["current_resource"])

		// What the CLI sends: ApplyRunPlanInput(run_spec, current_resource).
		apply := M{"plan": M{"run_spec": plan["run_spec"], "current_resource": plan["current_resource"]}, "force": false}
		applied := s.Post(apitest.AdminToken, path+"apply", apply)
		require.Equal(t, 200, applied.Status, string(applied.Body))
		requireNoSecret(t, applied, "runs/apply", "s3cr3t-value")
		requireKept(t, plan["effective_run_spec"], applied.Object(t)["run_spec"], "applied run_spec")

		got := s.Post(apitest.AdminToken, path+"get", M{"run_name": "hello"})
		requireNoSecret(t, got, "runs/get", "s3cr3t-value")
		requireKept(t, plan["effective_run_spec"], got.Object(t)["run_spec"], "stored run_spec")

		// Planned again while it is active: the run is the current
		// resource, with its spec as applied.
		r = s.Post(apitest.AdminToken, path+"get_plan", req)
		requireNoSecret(t, r, "runs/get_plan", "s3cr3t-value")
		again := r.Object(t)
		cur := again["current_resource"].(M)
		requireKept(t, plan["effective_run_spec"], cur["run_spec"], "current_resource.run_spec")
		require.Equal(t, got.Object(t)["id"], cur["id"])
		require.Equal(t, "update", again["action"], "the same spec: nothing to change in place")
		runSpec["configuration"].(M)["commands"] = []any{"echo changed"}
		require.Equal(t, "create", s.Post(apitest.AdminToken, path+"get_plan", req).Object(t)["action"],
			"a changed spec is not updated in place")
	})
}

func TestRoundTripRepoCreds(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		info := M{"repo_type": "remote", "repo_name": "dstack"}
		creds := M{"clone_url": "https://github.com/dstackai/dstack.git", "private_key": nil, "oauth_token": "gho_s3cr3t"}
		path := "/api/project/main/repos/"
		init := s.Post(apitest.AdminToken, path+"init", M{"repo_id": "r1", "repo_info": info, "repo_creds": creds})
		require.Equal(t, 200, init.Status, string(init.Body))

		// The CLI reads the creds back to reach the repo again (get_repo).
		head := s.Post(apitest.AdminToken, path+"get", M{"repo_id": "r1", "include_creds": true}).Object(t)
		requireKept(t, info, head["repo_info"], "repo_info")
		requireKept(t, creds, head["repo_creds"], "repo_creds")

		// Other answers keep them to themselves.
		requireNoSecret(t, s.Post(apitest.AdminToken, path+"get", M{"repo_id": "r1", "include_creds": false}), "repos/get", "gho_s3cr3t")
		requireNoSecret(t, s.Post(apitest.AdminToken, path+"list", M{}), "repos/list", "gho_s3cr3t")
	})
}

func TestRoundTripLogsNextToken(t *testing.T) {
	logs := logstore.NewFile(t.TempDir())
	each(t, func(t *testing.T, s *apitest.Server) {
		s.Post(apitest.AdminToken, "/api/project/main/repos/init", recordedBody(t, "0.21.2-runs.json", "repos/init (virtual repo)"))
		req := recordedBody(t, "0.21.2-runs.json", "runs/apply")
		run := s.Post(apitest.AdminToken, "/api/project/main/runs/apply", req).Object(t)
		sub := run["jobs"].([]any)[0].(M)["job_submissions"].([]any)[0].(M)["id"].(string)
		key := logstore.Key{Project: "main", Run: "hello", JobSubmissionID: sub}
		t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		var want []string
		var events []logstore.Event
		for i := range 7 {
			line := fmt.Sprintf("line-%d\n", i)
			want = append(want, line)
			// Two lines share each millisecond: a page may end between them.
			events = append(events, logstore.Event{Timestamp: t0.Add(time.Duration(i/2) * time.Millisecond), Message: []byte(line)})
		}
		require.NoError(t, logs.Write(t.Context(), key, events))

		// The CLI pages with the next_token of each answer until there is none.
		var got []string
		var token any
		for page := 0; ; page++ {
			require.Less(t, page, 10, "next_token never ends")
			body := M{"run_name": "hello", "job_submission_id": sub, "start_time": nil, "end_time": nil,
				"descending": false, "next_token": token, "limit": 2, "diagnose": false}
			ans := s.Post(apitest.AdminToken, "/api/project/main/logs/poll", body).Object(t)
			for _, l := range ans["logs"].([]any) {
				got = append(got, decodeLogMessage(t, l.(M)["message"].(string)))
			}
			if token = ans["next_token"]; token == nil {
				break
			}
		}
		require.Equal(t, want, got, "every line once, in order")
	}, func(e *services.Env) { e.Logs = logs })
}

func TestRoundTripFileArchive(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "compat", "requests", "0.21.2-files.json"))
		require.NoError(t, err)
		var fx compatFixture
		require.NoError(t, json.Unmarshal(data, &fx))
		up := send(t, s, fx, fx.Steps[0], map[string]string{"token": apitest.AdminToken})
		require.Equal(t, 200, up.Code, up.Body.String())
		var archive M
		require.NoError(t, json.Unmarshal(up.Body.Bytes(), &archive))

		// The CLI asks by hash before uploading, and puts the id it gets into
		// the run spec's file_archives.
		byHash := s.Post(apitest.AdminToken, "/api/files/get_archive_by_hash", M{"hash": archive["hash"]}).Object(t)
		require.Equal(t, archive["id"], byHash["id"])
		require.Equal(t, archive["hash"], byHash["hash"])
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}

func cloneJSON(t *testing.T, v M) M {
	t.Helper()
	var out M
	require.NoError(t, json.Unmarshal([]byte(mustJSON(t, v)), &out))
	return out
}

func decodeLogMessage(t *testing.T, b64 string) string {
	t.Helper()
	var raw []byte
	require.NoError(t, json.Unmarshal([]byte(`"`+b64+`"`), &raw), "message is base64")
	return strings.Clone(string(raw))
}
