// Package client is the typed client of the server's HTTP API, used by the
// built-in CLI verbs, the admin commands and the console. It reuses the
// server's wire types, so each JSON shape has one definition.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// Client calls one server with one token.
type Client struct {
	URL     string
	Token   string
	HTTP    *http.Client
	Version string
}

// New returns a client for the server at url.
func New(url, token string) *Client {
	return &Client{URL: strings.TrimRight(url, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}, Version: schemas.CompatibleVersion}
}

// Error is an error answer of the server.
type Error struct {
	Status int
	Code   schemas.ErrorCode
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// IsNotFound reports whether err is the server's resource_not_exists.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == schemas.ErrorCodeResourceNotExists
}

// Call posts req (nil for no body) to path and decodes the answer into resp
// (nil to discard).
func (c *Client) Call(ctx context.Context, path string, req, resp any) error {
	data, err := c.roundTrip(ctx, path, req)
	if err != nil || resp == nil {
		return err
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// Get sends GET path?query and decodes the answer into resp.
func (c *Client) Get(ctx context.Context, path string, query url.Values, resp any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	data, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// roundTrip posts req (nil for no body) and returns the body of a 200
// answer; other answers become errors.
func (c *Client) roundTrip(ctx context.Context, path string, req any) ([]byte, error) {
	return c.do(ctx, http.MethodPost, path, req)
}

func (c *Client) do(ctx context.Context, method, path string, req any) ([]byte, error) {
	var body io.Reader
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", c.URL, err)
	}
	if req != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+c.Token)
	r.Header.Set("X-API-VERSION", c.Version)
	res, err := c.HTTP.Do(r)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer res.Body.Close()
	data, err := readBody(res)
	if err != nil {
		return nil, fmt.Errorf("read answer of %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, decodeError(res.StatusCode, path, data)
	}
	return data, nil
}

// maxAnswer bounds the answers read (a page of runs is well under a megabyte).
const maxAnswer = 64 << 20

// readBody reads an answer in one allocation when its length is known.
func readBody(res *http.Response) ([]byte, error) {
	if n := res.ContentLength; n > 0 && n <= maxAnswer {
		data := make([]byte, n)
		_, err := io.ReadFull(res.Body, data)
		return data, err
	}
	return io.ReadAll(io.LimitReader(res.Body, maxAnswer))
}

func (c *Client) transportError(err error) error {
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return fmt.Errorf("cannot reach the dstack server at %s: is it running? (%v)", c.URL, ne.Err)
	}
	return fmt.Errorf("call the dstack server at %s: %w", c.URL, err)
}

func decodeError(status int, path string, data []byte) error {
	e := &Error{Status: status}
	var list schemas.ErrorList
	var obj schemas.ErrorObject
	var plain struct {
		Detail string `json:"detail"`
	}
	switch {
	case json.Unmarshal(data, &list) == nil && len(list.Detail) > 0:
		msgs := make([]string, 0, len(list.Detail))
		for _, d := range list.Detail {
			msgs = append(msgs, d.Msg)
			if d.Code != nil {
				e.Code = *d.Code
			}
		}
		e.Msg = strings.Join(msgs, "; ")
	case json.Unmarshal(data, &obj) == nil && obj.Detail.Msg != "":
		e.Msg = obj.Detail.Msg
	case json.Unmarshal(data, &plain) == nil && plain.Detail != "":
		e.Msg = plain.Detail
	default:
		e.Msg = strings.TrimSpace(string(data))
	}
	switch status {
	case http.StatusForbidden:
		if e.Msg == "Invalid token" || e.Msg == "Not authenticated" {
			e.Msg = "the server refused the token (" + e.Msg + "): check the token in ~/.dstack/config.yml, DSTACK_TOKEN or --token"
		} else if e.Msg == "Access denied" || e.Msg == "" {
			e.Msg = "access denied: your user may not do this here (ask a project or global admin)"
		} else {
			e.Msg = "access denied: " + e.Msg
		}
	case http.StatusNotFound:
		if strings.HasPrefix(path, "/api/projects/") || strings.HasPrefix(path, "/api/project/") {
			e.Msg = "project not found: " + projectOf(path)
		} else {
			e.Msg = "not found: " + path + " (is this URL a dstack server?)"
		}
	case http.StatusUnprocessableEntity:
		e.Msg = "the server rejected the request: " + e.Msg
	}
	return e
}

func projectOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) > 2 {
		return parts[2]
	}
	return path
}
