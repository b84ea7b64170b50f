package replica

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// gcsClient is a Litestream replica client for Google Cloud Storage over
// its JSON API, with net/http only: Google's SDK (gRPC, OpenTelemetry and
// their protobufs) ran some 225 package initialisers at every start of the
// binary, client commands included (dstack version: 70 ms and 519 inits
// with it, 50 ms and 293 without).
//
// Objects are named as Litestream's own GCS client names them
// (path/ltx/<level>/<min>-<max>.ltx, the LTX header's timestamp in the
// litestream-timestamp metadata), so replicas written by either read back
// with the other.
type gcsClient struct {
	bucket string
	// prefix is the replica's path in the bucket, without slashes around it.
	prefix string
	// base is the API's root: https://storage.googleapis.com, or
	// STORAGE_EMULATOR_HOST's emulator.
	base   string
	hc     *http.Client
	logger *slog.Logger

	mu     sync.Mutex
	tokens *tokenSource // nil for an emulator, which takes no credentials
	ready  bool
}

var _ litestream.ReplicaClient = (*gcsClient)(nil)

// gcsMetadataTimestamp holds an LTX file's header timestamp (RFC 3339),
// named as Litestream's GCS client names it.
const gcsMetadataTimestamp = "litestream-timestamp"

// gcsPageSize is how many objects one list request asks for (the API's
// maximum).
const gcsPageSize = 1000

// newGCSClient returns the client for gs://bucket/prefix; credentials are
// looked up by Init.
func newGCSClient(bucket, prefix string) (*gcsClient, error) {
	if bucket == "" {
		return nil, errors.New("a GCS replica needs a bucket: gcs://bucket/path")
	}
	base := "https://storage.googleapis.com"
	if host := os.Getenv("STORAGE_EMULATOR_HOST"); host != "" {
		base = strings.TrimSuffix(host, "/")
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
	}
	return &gcsClient{
		bucket: bucket,
		prefix: strings.Trim(prefix, "/"),
		base:   base,
		hc:     &http.Client{},
		logger: slog.New(slog.DiscardHandler),
	}, nil
}

// Type is the client type Litestream names GCS with.
func (c *gcsClient) Type() string { return "gs" }

// SetLogger sets the client's logger.
func (c *gcsClient) SetLogger(l *slog.Logger) { c.logger = l.WithGroup("gs") }

// Init finds the credentials; an emulator takes none.
func (c *gcsClient) Init(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready {
		return nil
	}
	if os.Getenv("STORAGE_EMULATOR_HOST") == "" {
		ts, err := newGoogleTokenSource(c.hc)
		if err != nil {
			return err
		}
		c.tokens = ts
	}
	c.ready = true
	return nil
}

// gcsObject is the part of an object's resource the client reads.
type gcsObject struct {
	Name        string            `json:"name"`
	Size        int64             `json:"size,string"`
	TimeCreated time.Time         `json:"timeCreated"`
	Metadata    map[string]string `json:"metadata"`
}

// gcsList is one page of a list request.
type gcsList struct {
	Items         []gcsObject `json:"items"`
	NextPageToken string      `json:"nextPageToken"`
}

// LTXFiles lists a level's files in TXID order (their names sort so),
// from seek on.
func (c *gcsClient) LTXFiles(ctx context.Context, level int, seek ltx.TXID, _ bool) (ltx.FileIterator, error) {
	if err := c.Init(ctx); err != nil {
		return nil, err
	}
	dir := litestream.LTXLevelDir(c.prefix, level) + "/"
	q := url.Values{"prefix": {dir}, "maxResults": {fmt.Sprint(gcsPageSize)}}
	if seek != 0 {
		q.Set("startOffset", dir+seek.String())
	}
	return &gcsIterator{ctx: ctx, c: c, level: level, seek: seek, query: q}, nil
}

// list fetches one page of objects.
func (c *gcsClient) list(ctx context.Context, q url.Values) (*gcsList, error) {
	u := c.base + "/storage/v1/b/" + url.PathEscape(c.bucket) + "/o?" + q.Encode()
	var page gcsList
	resp, err := c.do(ctx, http.MethodGet, u, "", nil)
	if err != nil {
		return nil, fmt.Errorf("list gs://%s/%s: %w", c.bucket, q.Get("prefix"), err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("list gs://%s/%s: read the answer: %w", c.bucket, q.Get("prefix"), err)
	}
	return &page, nil
}

// WriteLTXFile uploads an LTX file in one multipart request: the object's
// metadata (the header's timestamp), then its bytes.
func (c *gcsClient) WriteLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, r io.Reader) (*ltx.FileInfo, error) {
	if err := c.Init(ctx); err != nil {
		return nil, err
	}
	name := litestream.LTXFilePath(c.prefix, level, minTXID, maxTXID)
	var head bytes.Buffer
	hdr, _, err := ltx.PeekHeader(io.TeeReader(r, &head))
	if err != nil {
		return nil, fmt.Errorf("read the LTX header of gs://%s/%s: %w", c.bucket, name, err)
	}
	created := time.UnixMilli(hdr.Timestamp).UTC()
	meta, err := json.Marshal(map[string]any{
		"name":     name,
		"metadata": map[string]string{gcsMetadataTimestamp: created.Format(time.RFC3339Nano)},
	})
	if err != nil {
		return nil, err
	}

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var n int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(func() error {
			part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json; charset=UTF-8"}})
			if err != nil {
				return err
			}
			if _, err := part.Write(meta); err != nil {
				return err
			}
			if part, err = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"}}); err != nil {
				return err
			}
			if n, err = io.Copy(part, io.MultiReader(&head, r)); err != nil {
				return err
			}
			return mw.Close()
		}())
	}()
	u := c.base + "/upload/storage/v1/b/" + url.PathEscape(c.bucket) + "/o?uploadType=multipart"
	resp, err := c.do(ctx, http.MethodPost, u, "multipart/related; boundary="+mw.Boundary(), pr)
	// The body's writer stops when the request has read it all or gave up.
	_ = pr.CloseWithError(errors.New("the upload ended"))
	<-done
	if err != nil {
		return nil, fmt.Errorf("write gs://%s/%s: %w", c.bucket, name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &ltx.FileInfo{Level: level, MinTXID: minTXID, MaxTXID: maxTXID, Size: n, CreatedAt: created}, nil
}

// OpenLTXFile reads an LTX file from offset, size bytes of it (all that
// follows when size is 0); a missing file is os.ErrNotExist.
func (c *gcsClient) OpenLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, offset, size int64) (io.ReadCloser, error) {
	if err := c.Init(ctx); err != nil {
		return nil, err
	}
	name := litestream.LTXFilePath(c.prefix, level, minTXID, maxTXID)
	req := c.objectURL(name) + "?alt=media"
	var rng string
	switch {
	case size > 0:
		rng = fmt.Sprintf("bytes=%d-%d", offset, offset+size-1)
	case offset > 0:
		rng = fmt.Sprintf("bytes=%d-", offset)
	}
	resp, err := c.doRange(ctx, req, rng)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("gs://%s/%s: %w", c.bucket, name, os.ErrNotExist)
		}
		return nil, fmt.Errorf("read gs://%s/%s: %w", c.bucket, name, err)
	}
	return resp.Body, nil
}

// DeleteLTXFiles deletes files; one already gone is no error.
func (c *gcsClient) DeleteLTXFiles(ctx context.Context, files []*ltx.FileInfo) error {
	if err := c.Init(ctx); err != nil {
		return err
	}
	for _, f := range files {
		if err := c.delete(ctx, litestream.LTXFilePath(c.prefix, f.Level, f.MinTXID, f.MaxTXID)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteAll deletes every LTX file of the replica.
func (c *gcsClient) DeleteAll(ctx context.Context) error {
	if err := c.Init(ctx); err != nil {
		return err
	}
	q := url.Values{"prefix": {litestream.LTXDir(c.prefix) + "/"}, "maxResults": {fmt.Sprint(gcsPageSize)}}
	for {
		page, err := c.list(ctx, q)
		if err != nil {
			return err
		}
		for _, o := range page.Items {
			if err := c.delete(ctx, o.Name); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		q.Set("pageToken", page.NextPageToken)
	}
}

func (c *gcsClient) delete(ctx context.Context, name string) error {
	c.logger.Debug("deleting ltx file", "key", name)
	resp, err := c.do(ctx, http.MethodDelete, c.objectURL(name), "", nil)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete gs://%s/%s: %w", c.bucket, name, err)
	}
	_ = resp.Body.Close()
	return nil
}

// objectURL is an object's resource; the name's slashes are escaped.
func (c *gcsClient) objectURL(name string) string {
	return c.base + "/storage/v1/b/" + url.PathEscape(c.bucket) + "/o/" + url.PathEscape(name)
}
