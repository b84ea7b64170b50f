// Package client implements HTTP clients for the dstack agents: ShimClient for
// the shim API v2 and RunnerClient for the runner API. Both take a
// caller-supplied *http.Client, so the transport may dial through an SSH
// connection or a Unix socket forwarded by OpenSSH.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxErrorBody caps the response body excerpt kept in an HTTPError.
const maxErrorBody = 512

// HTTPError is returned when an agent answers with a non-2xx status.
type HTTPError struct {
	Method     string
	Endpoint   string
	StatusCode int
	Body       string
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Endpoint, e.StatusCode, e.Body)
}

// IsStatus reports whether err is an *HTTPError with the given status code.
func IsStatus(err error, code int) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode == code
}

// base holds what both clients share.
type base struct {
	hc      *http.Client
	baseURL string
}

func newBase(hc *http.Client, baseURL string) base {
	if hc == nil {
		hc = http.DefaultClient
	}
	return base{hc: hc, baseURL: strings.TrimRight(baseURL, "/")}
}

// request sends a request and returns the response when the status is 2xx;
// otherwise it drains the body into an *HTTPError.
func (b base) request(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: build request: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, &HTTPError{
		Method:     method,
		Endpoint:   path,
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(string(excerpt)),
	}
}

// doJSON sends in (if non-nil) as JSON and decodes the response into out (if non-nil).
func (b base) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	contentType := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	resp, err := b.request(ctx, method, path, contentType, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeInto(method, path, resp, out)
}

// MaxAnswer bounds what the clients read of an agent's answer: a broken or
// hostile host must not exhaust the server's memory. The largest answers
// are a runner's pulls, whose two log buffers hold up to 16 MiB each.
const MaxAnswer = 64 << 20

// errTooLarge reports an answer past MaxAnswer.
func errTooLarge(method, path string) error {
	return fmt.Errorf("%s %s: the agent answered with more than %d MiB; dstack reads at most that much", method, path, MaxAnswer>>20)
}

// readAnswer reads a whole answer body, up to MaxAnswer.
func readAnswer(method, path string, body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if len(data) > MaxAnswer {
		return nil, errTooLarge(method, path)
	}
	return data, nil
}

// drain reads what is left of an answer that is not used, a bounded
// amount, so that its connection can be reused.
func drain(body io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20)) }

func decodeInto(method, path string, resp *http.Response, out any) error {
	if out == nil {
		drain(resp.Body)
		return nil
	}
	lr := &io.LimitedReader{R: resp.Body, N: MaxAnswer + 1}
	if err := json.NewDecoder(lr).Decode(out); err != nil {
		if lr.N <= 0 {
			return errTooLarge(method, path)
		}
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// isJSON reports whether the response declares a JSON body.
func isJSON(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
