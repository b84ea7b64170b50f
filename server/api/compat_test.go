package api_test

// Compatibility contract with the official dstack client: the requests it
// sends (testdata/compat/requests/<client>-<area>.json: its headers and its
// exact bodies, nulls and missing bodies included, for 0.20.x and 0.21.x)
// are replayed against the real router, and every answer is checked for the
// fields the client's models require (reference §3), the error shapes it
// parses (§1.3) and the version gate (§1.2).
//
// A step whose route answers 404 {"detail":"Not Found"} skips the rest of
// its fixture, naming the route: the fleets and runs fixtures turn on by
// themselves once those routes exist.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/logstore"
	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/services"
)

// compatFixture is one recorded conversation of the official client.
type compatFixture struct {
	Client  string            `json:"client"`
	Area    string            `json:"area"`
	Headers map[string]string `json:"headers"`
	Steps   []compatStep      `json:"steps"`
}

type compatStep struct {
	Name       string            `json:"name"`
	Method     string            `json:"method"` // POST when empty
	Path       string            `json:"path"`
	Body       *string           `json:"body"`        // exact bytes; null: no body at all
	BodyBase64 string            `json:"body_base64"` // binary bodies (multipart)
	Headers    map[string]string `json:"headers"`     // overrides; "" removes the header
	Expect     compatExpect      `json:"expect"`
	Capture    map[string]string `json:"capture"` // variable → dotted path in the answer
	Forbid     []string          `json:"forbid"`  // dotted paths that must be absent or null
}

type compatExpect struct {
	Status       json.RawMessage `json:"status"` // a number or a list of accepted numbers
	Model        string          `json:"model"`  // see compatModels; "[]X" is a list of X
	Code         string          `json:"code"`   // 400: the single detail entry's code
	MsgContains  string          `json:"msg_contains"`
	Body         json.RawMessage `json:"body"` // the exact JSON answer
	BodyContains string          `json:"body_contains"`
	Equal        map[string]any  `json:"equal"` // dotted path → value
}

func TestCompatOfficialClient(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "compat", "requests", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var fx compatFixture
		require.NoError(t, json.Unmarshal(data, &fx), file)
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			withLogs := func(e *services.Env) { e.Logs = logstore.NewFile(t.TempDir()) }
			each(t, func(t *testing.T, s *apitest.Server) { replay(t, s, fx) }, withLogs)
		})
	}
}

func replay(t *testing.T, s *apitest.Server, fx compatFixture) {
	vars := map[string]string{"token": apitest.AdminToken}
	for _, st := range fx.Steps {
		res := send(t, s, fx, st, vars)
		if res.Code == http.StatusNotFound && strings.TrimSpace(res.Body.String()) == apitest.BodyRouteNotFound && !expectsStatus(st.Expect, 404) {
			t.Skipf("route %s is not implemented yet (404 Not Found): %s and later steps skipped", st.Path, st.Name)
		}
		checkStep(t, st, res)
		if len(st.Capture) > 0 {
			var answer any
			require.NoError(t, json.Unmarshal(res.Body.Bytes(), &answer))
			for name, path := range st.Capture {
				v, ok := lookup(answer, path)
				require.True(t, ok, "%s: capture %s: no %s in %s", st.Name, name, path, res.Body)
				vars[name] = v.(string)
			}
		}
	}
}

var varRe = regexp.MustCompile(`\{\{(\w+)\}\}`)

func expand(s string, vars map[string]string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string { return vars[varRe.FindStringSubmatch(m)[1]] })
}

// send builds the request exactly: method POST (or the step's), the fixture's headers (a
// Content-Type only with a body, as the client does) and the body bytes.
func send(t *testing.T, s *apitest.Server, fx compatFixture, st compatStep, vars map[string]string) *httptest.ResponseRecorder {
	var body []byte
	switch {
	case st.BodyBase64 != "":
		var err error
		body, err = base64.StdEncoding.DecodeString(st.BodyBase64)
		require.NoError(t, err)
	case st.Body != nil:
		body = []byte(expand(*st.Body, vars))
	}
	method := http.MethodPost
	if st.Method != "" {
		method = st.Method
	}
	req := httptest.NewRequestWithContext(t.Context(), method, st.Path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	for _, hs := range []map[string]string{fx.Headers, st.Headers} {
		for k, v := range hs {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, expand(v, vars))
			}
		}
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	return rec
}

func expectsStatus(e compatExpect, code int) bool {
	var one int
	if json.Unmarshal(e.Status, &one) == nil {
		return one == code
	}
	var many []int
	_ = json.Unmarshal(e.Status, &many)
	for _, c := range many {
		if c == code {
			return true
		}
	}
	return false
}

func checkStep(t *testing.T, st compatStep, res *httptest.ResponseRecorder) {
	t.Helper()
	e, raw := st.Expect, res.Body.Bytes()
	require.True(t, expectsStatus(e, res.Code), "%s: status %d, want %s: %s", st.Name, res.Code, e.Status, raw)
	require.Contains(t, res.Header().Get("Content-Type"), "application/json", "%s", st.Name)
	if e.Body != nil {
		require.JSONEq(t, string(e.Body), string(raw), "%s", st.Name)
	}
	if e.BodyContains != "" {
		require.Contains(t, string(raw), e.BodyContains, "%s", st.Name)
	}
	if e.Code != "" {
		d := apitest.Require400(t, &apitest.Response{Status: res.Code, Body: raw}, e.Code)
		require.Contains(t, d.Msg, e.MsgContains, "%s", st.Name)
	}
	var answer any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &answer), "%s: %s", st.Name, raw)
	}
	if e.Model != "" {
		checkModel(t, st.Name, e.Model, answer)
	}
	for path, want := range e.Equal {
		got, ok := lookup(answer, path)
		require.True(t, ok, "%s: no %s", st.Name, path)
		require.Equal(t, want, got, "%s: %s", st.Name, path)
	}
	for _, path := range st.Forbid {
		v, ok := lookup(answer, path)
		require.True(t, !ok || v == nil, "%s: %s must not be returned, got %v", st.Name, path, v)
	}
}

// lookup follows a dotted path ("jobs.0.job_submissions.0.id").
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// compatModels are the fields the official client's models require in
// answers (reference §3: no default), as "path:type"; "a[].b" is b of every
// element of the list a, "?" makes null acceptable. Types: uuid4, uuid,
// time (timezone-aware), str, num, bool, list, obj, any.
var compatModels = map[string][]string{
	"User": {"id:uuid4", "username:str", "created_at:?time", "global_role:str", "email:?str", "active:bool",
		"permissions.can_create_projects:bool", "ssh_public_key:?str"},
	"MyUser": {"@User", "creds.token:str", "ssh_private_key:str", "ssh_public_key:str"},
	"Project": {"project_id:uuid4", "project_name:str", "created_at:?time", "is_public:bool", "backends:list",
		"members:list", "members[].user.username:str", "members[].project_role:str",
		"members[].permissions.can_manage_ssh_fleets:bool", "members[].permissions.can_manage_secrets:bool",
		"owner.id:uuid4", "owner.username:str", "owner.global_role:str", "owner.active:bool",
		"owner.permissions.can_create_projects:bool"},
	"ServerInfo": {"server_version:?str"},
	"Event": {"id:uuid4", "message:str", "recorded_at:time", "actor_user_id:?uuid", "actor_user:?str", "targets:list",
		"targets[].type:str", "targets[].project_id:?uuid", "targets[].project_name:?str", "targets[].id:uuid", "targets[].name:str"},
	"Secret":          {"id:uuid", "name:str", "value:?str"},
	"SecretWithValue": {"@Secret", "value:str"},
	"Instance": {"id:uuid", "project_name:str", "name:str", "instance_num:num", "status:str", "created:time",
		"backend:?str", "fleet_name:?str", "finished_at:?time"},
	"Fleet": {"id:uuid", "name:str", "project_name:str", "spec.configuration.type:str", "spec.profile:obj",
		"created_at:time", "status:str", "instances:list", "instances[].id:uuid", "instances[].name:str",
		"instances[].instance_num:num", "instances[].status:str", "instances[].created:time", "instances[].project_name:str"},
	"Offer": {"backend:str", "instance.name:str", "instance.resources.cpus:num", "instance.resources.memory_mib:num",
		"instance.resources.gpus:list", "instance.resources.spot:bool", "region:str", "price:num", "availability:str"},
	"FleetPlan": {"project_name:str", "user:str", "spec.configuration.type:str", "offers:list", "total_offers:num",
		"current_resource:?obj", "effective_spec:?obj"},
	"JobSubmission": {"id:uuid4", "submission_num:num", "submitted_at:time", "last_processed_at:time", "status:str",
		"finished_at:?time", "job_provisioning_data:?obj"},
	"Run": {"id:uuid4", "project_name:str", "user:str", "submitted_at:time", "last_processed_at:time", "status:str",
		"run_spec.configuration.type:str", "run_spec.run_name:?str", "jobs:list", "jobs[].job_spec.job_num:num",
		"jobs[].job_spec.job_name:str", "jobs[].job_spec.commands:list", "jobs[].job_spec.env:obj",
		"jobs[].job_spec.image_name:str", "jobs[].job_spec.requirements.resources:obj", "jobs[].job_submissions:list",
		"jobs[].job_submissions[].id:uuid4", "jobs[].job_submissions[].submitted_at:time",
		"jobs[].job_submissions[].last_processed_at:time", "jobs[].job_submissions[].status:str",
		"latest_job_submission:?obj"},
	"ListGpusResponse": {"gpus:list", "gpus[].name:str", "gpus[].memory_mib:num", "gpus[].vendor:str",
		"gpus[].availability:list", "gpus[].spot:list", "gpus[].count:obj", "gpus[].price:obj"},
	"JobMetrics": {"metrics:list", "metrics[].name:str", "metrics[].timestamps:list", "metrics[].values:list"},
	"RunPlan": {"project_name:str", "user:str", "run_spec.configuration.type:str", "job_plans:list",
		"job_plans[].job_spec.job_name:str", "job_plans[].job_spec.requirements.resources:obj",
		"job_plans[].offers:list", "job_plans[].total_offers:num", "current_resource:?obj"},
	"JobSubmissionLogs": {"logs:list", "logs[].timestamp:time", "logs[].log_source:str", "logs[].message:str"},
	"FileArchive":       {"id:uuid", "hash:str"},
	"Volume": {"id:uuid", "name:str", "user:str", "project_name:str", "configuration.backend:str", "external:bool",
		"created_at:time", "last_processed_at:time", "status:str", "deleted:bool"},
	"Gateway": {"id:uuid", "name:str", "project_name:str", "configuration.backend:str", "configuration.region:str",
		"created_at:time", "status:str", "default:bool"},
	"Export": {"id:uuid", "name:str", "imports:list", "imports[].project_name:str", "exported_fleets:list",
		"exported_fleets[].id:uuid", "exported_fleets[].name:str"},
	"Import": {"id:uuid", "export.id:uuid", "export.name:str", "export.project_name:str", "export.exported_fleets:list"},
}

func checkModel(t *testing.T, step, model string, v any) {
	t.Helper()
	if elem, ok := strings.CutPrefix(model, "[]"); ok {
		list, isList := v.([]any)
		require.True(t, isList, "%s: want a list of %s, got %v", step, elem, v)
		for _, x := range list {
			checkModel(t, step, elem, x)
		}
		return
	}
	fields, ok := compatModels[model]
	require.True(t, ok, "unknown model %s", model)
	for _, f := range fields {
		if base, ok := strings.CutPrefix(f, "@"); ok {
			checkModel(t, step, base, v)
			continue
		}
		path, typ, _ := strings.Cut(f, ":")
		checkField(t, step+": "+model, v, path, typ)
	}
	switch model { // nested models the client validates too
	case "Fleet":
		checkModel(t, step, "[]Instance", mustLookup(t, v, "instances"))
	case "FleetPlan":
		checkModel(t, step, "[]Offer", mustLookup(t, v, "offers"))
	case "RunPlan":
		for _, jp := range mustLookup(t, v, "job_plans").([]any) {
			checkModel(t, step, "[]Offer", mustLookup(t, jp, "offers"))
		}
	}
}

func mustLookup(t *testing.T, v any, path string) any {
	x, ok := lookup(v, path)
	require.True(t, ok, "no %s", path)
	return x
}

// checkField checks path (with "[]" steps over lists) in v.
func checkField(t *testing.T, where string, v any, path, typ string) {
	t.Helper()
	if head, rest, ok := strings.Cut(path, "[]."); ok {
		list, isList := mustLookup(t, v, head).([]any)
		require.True(t, isList, "%s: %s must be a list", where, head)
		for _, x := range list {
			checkField(t, where, x, rest, typ)
		}
		return
	}
	x, ok := lookup(v, path)
	require.True(t, ok, "%s: required field %s is missing", where, path)
	if nullable := strings.HasPrefix(typ, "?"); nullable && x == nil {
		return
	}
	typ = strings.TrimPrefix(typ, "?")
	require.NotNil(t, x, "%s: %s must not be null", where, path)
	switch typ {
	case "uuid4":
		requireUUID4(t, x)
	case "time":
		requireAwareTime(t, x)
	default:
		require.True(t, jsonKinds[typ](x), "%s: %s must be of type %s, got %#v", where, path, typ, x)
	}
}

// jsonKinds check a decoded JSON value's kind.
var jsonKinds = map[string]func(any) bool{
	"str":  func(v any) bool { _, ok := v.(string); return ok },
	"uuid": func(v any) bool { _, ok := v.(string); return ok },
	"num":  func(v any) bool { _, ok := v.(float64); return ok },
	"bool": func(v any) bool { _, ok := v.(bool); return ok },
	"list": func(v any) bool { _, ok := v.([]any); return ok },
	"obj":  func(v any) bool { _, ok := v.(map[string]any); return ok },
	"any":  func(any) bool { return true },
}
