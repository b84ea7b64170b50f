package client

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// RunnerClient talks to a runner's HTTP API.
type RunnerClient struct {
	base
}

// NewRunnerClient returns a client for the runner at baseURL (for example
// "http://127.0.0.1:10999"). A nil hc means http.DefaultClient.
func NewRunnerClient(hc *http.Client, baseURL string) *RunnerClient {
	return &RunnerClient{base: newBase(hc, baseURL)}
}

// Healthcheck calls GET /api/healthcheck.
func (c *RunnerClient) Healthcheck(ctx context.Context) (*schemas.HealthcheckResponse, error) {
	var out schemas.HealthcheckResponse
	if err := c.doJSON(ctx, http.MethodGet, "/api/healthcheck", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Metrics calls GET /api/metrics; status 404 means metrics are unavailable.
func (c *RunnerClient) Metrics(ctx context.Context) (*schemas.SystemMetrics, error) {
	var out schemas.SystemMetrics
	if err := c.doJSON(ctx, http.MethodGet, "/api/metrics", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Submit calls POST /api/submit.
func (c *RunnerClient) Submit(ctx context.Context, body schemas.SubmitBody) error {
	return c.doJSON(ctx, http.MethodPost, "/api/submit", body, nil)
}

// UploadArchive calls POST /api/upload_archive with a multipart form whose
// field "archive" carries the tar stream and has the archive id as filename.
func (c *RunnerClient) UploadArchive(ctx context.Context, id string, archive io.Reader) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("archive", id)
		if err == nil {
			_, err = io.Copy(part, archive)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := c.request(ctx, http.MethodPost, "/api/upload_archive", mw.FormDataContentType(), pr)
	_ = pr.Close()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	drain(resp.Body)
	return nil
}

// UploadCode calls POST /api/upload_code with the raw code blob (a tar for
// local repos, a git diff for remote repos); code may be nil for no code.
func (c *RunnerClient) UploadCode(ctx context.Context, code io.Reader) error {
	if code == nil {
		code = http.NoBody
	}
	resp, err := c.request(ctx, http.MethodPost, "/api/upload_code", "application/octet-stream", code)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	drain(resp.Body)
	return nil
}

// Run calls POST /api/run. It returns nil info (and no error) when the runner
// answers without JSON, as old runners and runners that failed to resolve the
// job user do.
func (c *RunnerClient) Run(ctx context.Context) (*schemas.JobInfoResponse, error) {
	const path = "/api/run"
	resp, err := c.request(ctx, http.MethodPost, path, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if !isJSON(resp) {
		drain(resp.Body)
		return nil, nil
	}
	var out schemas.JobInfoResponse
	if err := decodeInto(http.MethodPost, path, resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pull calls GET /api/pull?timestamp=ts and returns every event newer than ts.
func (c *RunnerClient) Pull(ctx context.Context, ts int64) (*schemas.PullResponse, error) {
	var out schemas.PullResponse
	path := "/api/pull?timestamp=" + strconv.FormatInt(ts, 10)
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stop calls POST /api/stop.
func (c *RunnerClient) Stop(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodPost, "/api/stop", nil, nil)
}

// LogsWebSocketURL returns the ws:// URL of GET /logs_ws for a runner whose
// HTTP base URL is baseURL; a non-zero since becomes start_time (RFC 3339).
func LogsWebSocketURL(baseURL string, since time.Time) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("parse runner url: %w", err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = "/logs_ws"
	u.RawQuery = ""
	if !since.IsZero() {
		u.RawQuery = "start_time=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	}
	return u.String(), nil
}
