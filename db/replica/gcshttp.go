package replica

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/superfly/ltx"
)

// gcsError is an answer of the API other than 2xx.
type gcsError struct {
	Status  string
	Code    int
	Message string
}

func (e *gcsError) Error() string {
	if e.Message == "" {
		return e.Status
	}
	return e.Status + ": " + e.Message
}

func isNotFound(err error) bool {
	var ge *gcsError
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

// gcsAttempts is how often a request without a body is tried when the
// API answers 429 or 5xx or the connection fails (a refused token is not
// tried again).
const gcsAttempts = 3

// do sends a request with the access token and returns a 2xx answer; any
// other is a *gcsError.
func (c *gcsClient) do(ctx context.Context, method, u, contentType string, body io.Reader) (*http.Response, error) {
	return c.send(ctx, method, u, contentType, "", body)
}

// doRange gets an object's bytes, a range of them when rng is set.
func (c *gcsClient) doRange(ctx context.Context, u, rng string) (*http.Response, error) {
	return c.send(ctx, http.MethodGet, u, "", rng, nil)
}

func (c *gcsClient) send(ctx context.Context, method, u, contentType, rng string, body io.Reader) (*http.Response, error) {
	attempts := gcsAttempts
	if body != nil {
		attempts = 1 // a streamed body cannot be sent twice
	}
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(i) * 500 * time.Millisecond):
			}
		}
		var resp *http.Response
		resp, err = c.sendOnce(ctx, method, u, contentType, rng, body)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return nil, err
		}
	}
	return nil, err
}

// retryable reports whether a failed request may pass when sent again:
// the API was busy or failed, or the connection did.
func retryable(err error) bool {
	var ge *gcsError
	if errors.As(err, &ge) {
		return ge.Code == http.StatusTooManyRequests || ge.Code >= 500
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func (c *gcsClient) sendOnce(ctx context.Context, method, u, contentType, rng string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	if c.tokens != nil {
		token, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ge := &gcsError{Status: resp.Status, Code: resp.StatusCode}
	var apiErr struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &apiErr) == nil && apiErr.Error.Message != "" {
		ge.Message = apiErr.Error.Message
	} else {
		ge.Message = snippet(b)
	}
	return nil, ge
}

// gcsIterator walks a listing page by page, skipping objects that are
// not LTX files.
type gcsIterator struct {
	ctx   context.Context
	c     *gcsClient
	level int
	seek  ltx.TXID
	query url.Values

	items []gcsObject
	done  bool
	info  *ltx.FileInfo
	err   error
}

func (it *gcsIterator) Next() bool {
	for it.err == nil {
		if len(it.items) == 0 {
			if it.done {
				return false
			}
			page, err := it.c.list(it.ctx, it.query)
			if err != nil {
				it.err = err
				return false
			}
			it.items = page.Items
			it.done = page.NextPageToken == ""
			it.query.Set("pageToken", page.NextPageToken)
			continue
		}
		o := it.items[0]
		it.items = it.items[1:]
		minTXID, maxTXID, err := ltx.ParseFilename(path.Base(o.Name))
		if err != nil || minTXID < it.seek {
			continue
		}
		created := o.TimeCreated.UTC()
		if ts, ok := o.Metadata[gcsMetadataTimestamp]; ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				created = t
			}
		}
		it.info = &ltx.FileInfo{Level: it.level, MinTXID: minTXID, MaxTXID: maxTXID, Size: o.Size, CreatedAt: created}
		return true
	}
	return false
}

func (it *gcsIterator) Item() *ltx.FileInfo { return it.info }

func (it *gcsIterator) Err() error { return it.err }

func (it *gcsIterator) Close() error { return it.err }
