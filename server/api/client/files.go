package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/dstackgo/dstack/server/schemas"
)

// UploadArchive uploads a file archive as the multipart field "file" whose
// filename is the archive's sha256 hex (POST /api/files/upload_archive).
func (c *Client) UploadArchive(ctx context.Context, hash string, archive io.Reader) (*schemas.FileArchive, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", hash)
	if err != nil {
		return nil, fmt.Errorf("build upload: %w", err)
	}
	if _, err := io.Copy(part, archive); err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("build upload: %w", err)
	}
	out := new(schemas.FileArchive)
	return out, c.post(ctx, "/api/files/upload_archive", mw.FormDataContentType(), &body, out)
}

// post sends a non-JSON body and decodes a JSON answer, with the same
// headers and error handling as Call.
func (c *Client) post(ctx context.Context, path, contentType string, body io.Reader, resp any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, body)
	if err != nil {
		return fmt.Errorf("server URL %q: %w", c.URL, err)
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Authorization", "Bearer "+c.Token)
	r.Header.Set("X-API-VERSION", c.Version)
	res, err := c.HTTP.Do(r)
	if err != nil {
		return c.transportError(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return decodeError(res.StatusCode, path, data)
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}
