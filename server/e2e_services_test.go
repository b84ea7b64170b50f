package server_test

// Services published through the server's proxy, on real namespaced SSH
// hosts: the replicas run svcapp (server/testdata/svcapp) and the proxy
// reaches them through the pooled SSH connections.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

var (
	svcAppOnce  sync.Once
	svcAppPath  string
	svcAppErr   error
	svcAppMu    sync.Mutex
	svcAppUsers int
)

// svcApp builds the test service where the hosts' users can run it, once
// per test process; the build is removed when the last test using it ends.
func svcApp(t testing.TB) string {
	t.Helper()
	svcAppMu.Lock()
	defer svcAppMu.Unlock()
	svcAppOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "dstack-e2e-bin")
		if svcAppErr = os.MkdirAll(dir, 0o755); svcAppErr != nil {
			return
		}
		svcAppPath = filepath.Join(dir, "svcapp-"+randomSuffix())
		cmd := exec.Command("go", "build", "-o", svcAppPath, "./testdata/svcapp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			svcAppErr = err
			svcAppPath = string(out)
		}
	})
	require.NoError(t, svcAppErr, svcAppPath)
	svcAppUsers++
	t.Cleanup(func() {
		svcAppMu.Lock()
		defer svcAppMu.Unlock()
		if svcAppUsers--; svcAppUsers == 0 {
			_ = os.Remove(svcAppPath)
			svcAppOnce = sync.Once{} // a later test builds it anew
		}
	})
	return svcAppPath
}

// proxyGet requests a path of the server with a token ("" for none).
func proxyGet(t testing.TB, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// echoed is what svcapp answers on any other path.
type echoed struct {
	JobID         string `json:"job_id"`
	Method        string `json:"method"`
	Body          string `json:"body"`
	Path          string `json:"path"`
	Query         string `json:"query"`
	Authorization string `json:"authorization"`
}

func TestServicesThroughProxy(t *testing.T) {
	t.Parallel()
	app := svcApp(t)
	h1 := sshtest.NewHost(t, sshtest.Options{})
	h2 := sshtest.NewHost(t, sshtest.Options{})
	s := startServer(t, server.Options{})
	s.applyFleet(t, sshFleetSpec(t, "svc", h1, h2))
	s.waitFleet(t, "svc", 90*time.Second, allInstances(schemas.InstanceIdle))
	token := servertest.AdminToken

	s.applyRun(t, runSpecOf(t, "web", `{"type": "service", "port": 8000, "replicas": 2,
		"commands": ["exec `+app+` -port 8000"]}`))
	r := s.waitRun(t, "web", 90*time.Second, func(r *schemas.Run) bool {
		running := 0
		for _, j := range r.Jobs {
			if n := len(j.JobSubmissions); n > 0 && j.JobSubmissions[n-1].Status == schemas.JobRunning {
				running++
			}
		}
		return running == 2
	})
	var svc schemas.ServiceSpec
	require.NoError(t, json.Unmarshal(r.Service, &svc), "service: %s", r.Service)
	require.Equal(t, "/proxy/services/main/web/", svc.URL)
	require.Nil(t, svc.Model)
	base := s.URL + svc.URL

	t.Run("requests reach both replicas in turn", func(t *testing.T) {
		seen := map[string]int{}
		// Without probes a replica takes requests once its job runs, which
		// may be before it listens: wait until both answer (round-robin).
		eventually(t, 20*time.Second, "the service answers through the proxy", func() error {
			for range 2 {
				resp, body := proxyGet(t, base+"hello?x=1", token)
				if resp.StatusCode != http.StatusOK {
					return errUnexpected(resp.Status + " " + string(body))
				}
			}
			return nil
		})
		for range 6 {
			resp, body := proxyGet(t, base+"hello/there?x=1", token)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			require.Equal(t, "/hello/there", e.Path, "strip_prefix (default true) removes the service's prefix")
			require.Equal(t, "x=1", e.Query)
			seen[e.JobID]++
		}
		require.Len(t, seen, 2, "round-robin over the two replicas: %v", seen)
		for id, n := range seen {
			require.Equal(t, 3, n, "replica %s", id)
		}
	})

	t.Run("auth", func(t *testing.T) {
		resp, body := proxyGet(t, base, "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(body))
		require.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
		require.Contains(t, string(body), "Not authenticated")
		resp, body = proxyGet(t, base, "not-a-token")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
		require.JSONEq(t, `{"detail": "Unauthenticated or unauthorized to access project main"}`, string(body))

		ctx := context.Background()
		_, err := s.CreateUser(ctx, schemas.CreateUserRequest{Username: "outsider", GlobalRole: schemas.GlobalRoleUser})
		require.NoError(t, err)
		u, err := s.GetUser(ctx, "outsider")
		require.NoError(t, err)
		resp, body = proxyGet(t, base, u.Creds.Token)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "not a member of main: %s", body)
	})

	t.Run("redirect, unknown service", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(s.URL + "/proxy/services/main/web?a=b")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
		require.Equal(t, "/proxy/services/main/web/?a=b", resp.Header.Get("Location"))
		resp2, body := proxyGet(t, s.URL+"/proxy/services/main/nope/", token)
		require.Equal(t, http.StatusNotFound, resp2.StatusCode)
		require.JSONEq(t, `{"detail": "Service main/nope not found"}`, string(body))
	})

	t.Run("a streamed answer arrives as it is written", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, base+"stream?n=4", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		sc := bufio.NewScanner(resp.Body)
		var arrived []time.Time
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				arrived = append(arrived, time.Now())
			}
		}
		require.NoError(t, sc.Err())
		require.Len(t, arrived, 4)
		// The replica writes an event every 300 ms: buffered, they would
		// all arrive at once at the end.
		require.Greater(t, arrived[3].Sub(arrived[0]), 600*time.Millisecond, "events arrived together")
	})

	t.Run("websocket", func(t *testing.T) {
		wsURL := "ws" + strings.TrimPrefix(base, "http") + "ws"
		hdr := http.Header{"Authorization": {"Bearer " + token}}
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, hdr)
		require.NoError(t, err, "response: %+v", resp)
		defer c.Close()
		for _, msg := range []string{"one", "two"} {
			require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(msg)))
			_, got, err := c.ReadMessage()
			require.NoError(t, err)
			require.Equal(t, "echo: "+msg, string(got))
		}
		_, _, err = websocket.DefaultDialer.Dial(wsURL, nil)
		require.ErrorIs(t, err, websocket.ErrBadHandshake, "no token, no upgrade")
	})

	t.Run("a replica that stops listening is passed over", func(t *testing.T) {
		// A replica being stopped (rolling update, scale-down) still is in
		// the route for a moment; requests that cannot reach it go to the
		// other replica instead of failing with 502.
		resp, body := proxyGet(t, base+"close", token)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		var closed echoed
		require.NoError(t, json.Unmarshal(body, &closed), string(body))
		time.Sleep(300 * time.Millisecond) // svcapp closes 100 ms after answering
		for i := range 10 {
			method, sent := http.MethodGet, ""
			if i%2 == 1 {
				method, sent = http.MethodPost, fmt.Sprintf(`{"n": %d}`, i)
			}
			req, err := http.NewRequest(method, base+"after-close", strings.NewReader(sent))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s #%d: %s", method, i, body)
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			require.NotEqual(t, closed.JobID, e.JobID, "answered by the replica that stopped listening")
			require.Equal(t, method, e.Method)
			require.Equal(t, sent, e.Body, "the request's body reaches the other replica whole")
		}
	})

	t.Run("public service without strip_prefix", func(t *testing.T) {
		s.stopRun(t, false, "web")
		s.waitRun(t, "web", 60*time.Second, finished)
		resp, body := proxyGet(t, base, token)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "a finished service is gone: %s", body)

		s.applyRun(t, runSpecOf(t, "open", `{"type": "service", "port": 8001, "auth": false, "strip_prefix": false,
			"commands": ["exec `+app+` -port 8001"]}`))
		s.waitRun(t, "open", 90*time.Second, statusIs(schemas.RunRunning))
		eventually(t, 20*time.Second, "the public service answers without a token", func() error {
			resp, body := proxyGet(t, s.URL+"/proxy/services/main/open/a/b", "")
			if resp.StatusCode != http.StatusOK {
				return errUnexpected(resp.Status + " " + string(body))
			}
			var e echoed
			if err := json.Unmarshal(body, &e); err != nil {
				return err
			}
			if e.Path != "/proxy/services/main/open/a/b" {
				return errUnexpected("path " + e.Path)
			}
			return nil
		})
		s.stopRun(t, false, "open")
		s.waitRun(t, "open", 60*time.Second, finished)
	})

	t.Run("a model at the project's OpenAI-compatible endpoint", func(t *testing.T) {
		s.applyRun(t, runSpecOf(t, "llm", `{"type": "service", "port": 8002, "model": "tiny-chat",
			"commands": ["exec `+app+` -port 8002 -model tiny-chat"]}`))
		r := s.waitRun(t, "llm", 90*time.Second, statusIs(schemas.RunRunning))
		var svc schemas.ServiceSpec
		require.NoError(t, json.Unmarshal(r.Service, &svc), "service: %s", r.Service)
		require.Equal(t, &schemas.ServiceModelSpec{Name: "tiny-chat", BaseURL: "/proxy/services/main/llm/v1", Type: "chat"}, svc.Model)
		models := s.URL + "/proxy/models/main/"

		resp, body := proxyGet(t, models+"models", token)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		var list struct {
			Data []struct {
				ID      string `json:"id"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &list))
		require.Len(t, list.Data, 1)
		require.Equal(t, "tiny-chat", list.Data[0].ID)
		require.Equal(t, "main", list.Data[0].OwnedBy)
		resp, _ = proxyGet(t, models+"models", "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		post := func(body string) *http.Response {
			req, err := http.NewRequest(http.MethodPost, models+"chat/completions", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			return resp
		}
		var answer struct {
			Model   string `json:"model"`
			Choices []struct {
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		eventually(t, 20*time.Second, "the model answers", func() error {
			resp := post(`{"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}`)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return errUnexpected(resp.Status + " " + string(b))
			}
			return json.Unmarshal(b, &answer)
		})
		require.Equal(t, "tiny-chat", answer.Model)
		require.Contains(t, answer.Choices[0].Message.Content, "hello from tiny-chat")

		resp = post(`{"model": "tiny-chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		sc := bufio.NewScanner(resp.Body)
		var chunks []string
		var arrived []time.Time
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				chunks, arrived = append(chunks, data), append(arrived, time.Now())
			}
		}
		require.Len(t, chunks, 6, "five words and [DONE]: %v", chunks)
		require.Equal(t, "[DONE]", chunks[5])
		require.Greater(t, arrived[4].Sub(arrived[0]), 250*time.Millisecond, "chunks arrived together")

		resp = post(`{"model": "other", "messages": []}`)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.JSONEq(t, `{"detail": "Model other not found in project main"}`, string(b))
		s.stopRun(t, false, "llm")
		s.waitRun(t, "llm", 60*time.Second, finished)
	})
}
