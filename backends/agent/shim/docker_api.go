package shim

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// dockerAPI is a minimal Docker Engine API client over the unix socket.
type dockerAPI struct {
	hc *http.Client
}

// dockerError is a non-2xx answer of the Engine.
type dockerError struct {
	Status  int
	Message string
}

// Error implements error.
func (e *dockerError) Error() string { return fmt.Sprintf("docker: HTTP %d: %s", e.Status, e.Message) }

func isNotFound(err error) bool {
	var de *dockerError
	return errors.As(err, &de) && de.Status == http.StatusNotFound
}

func newDockerAPI(socket string) *dockerAPI {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &dockerAPI{hc: &http.Client{Transport: tr}}
}

// raw sends a request and returns the response on 2xx. body may be an
// io.Reader (sent as is) or a value (sent as JSON).
func (d *dockerAPI) raw(ctx context.Context, method, path string, q url.Values, body any, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd, ct = b, "application/x-tar"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode docker request: %w", err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	u := "http://docker" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build docker request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var msg struct{ Message string }
	if json.Unmarshal(data, &msg) != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(data))
	}
	return nil, &dockerError{Status: resp.StatusCode, Message: msg.Message}
}

// call sends a request and decodes a JSON answer into out (if non-nil).
func (d *dockerAPI) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	resp, err := d.raw(ctx, method, path, q, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode docker %s %s: %w", method, path, err)
	}
	return nil
}

// demux splits Docker's multiplexed stdout/stderr stream (8-byte frame
// headers) into one writer.
func demux(dst io.Writer, src io.Reader) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read log frame: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.CopyN(dst, src, n); err != nil {
			return fmt.Errorf("read log frame: %w", err)
		}
	}
}

// Docker Engine API shapes (only the fields we use).
type (
	dockerMount struct {
		Type     string
		Source   string
		Target   string
		ReadOnly bool `json:",omitempty"`
	}
	dockerPortBinding struct {
		HostIP   string `json:"HostIp"`
		HostPort string
	}
	dockerDeviceRequest struct {
		Driver       string     `json:",omitempty"`
		DeviceIDs    []string   `json:",omitempty"`
		Capabilities [][]string `json:",omitempty"`
	}
	dockerDevice struct {
		PathOnHost        string
		PathInContainer   string
		CgroupPermissions string
	}
	dockerUlimit struct {
		Name       string
		Soft, Hard int64
	}
	dockerHostConfig struct {
		Privileged     bool
		NetworkMode    string
		PortBindings   map[string][]dockerPortBinding `json:",omitempty"`
		Mounts         []dockerMount                  `json:",omitempty"`
		ShmSize        int64                          `json:",omitempty"`
		Tmpfs          map[string]string              `json:",omitempty"`
		NanoCpus       int64                          `json:",omitempty"`
		Memory         int64                          `json:",omitempty"`
		DeviceRequests []dockerDeviceRequest          `json:",omitempty"`
		Devices        []dockerDevice                 `json:",omitempty"`
		IpcMode        string                         `json:",omitempty"`
		CapAdd         []string                       `json:",omitempty"`
		SecurityOpt    []string                       `json:",omitempty"`
		Ulimits        []dockerUlimit                 `json:",omitempty"`
	}
	dockerCreateRequest struct {
		Image        string
		Entrypoint   []string
		Cmd          []string
		Env          []string            `json:",omitempty"`
		User         string              `json:",omitempty"`
		Labels       map[string]string   `json:",omitempty"`
		ExposedPorts map[string]struct{} `json:",omitempty"`
		HostConfig   dockerHostConfig
	}
	dockerInspect struct {
		ID    string `json:"Id"`
		State struct {
			Status   string
			Running  bool
			ExitCode int
		}
		NetworkSettings struct {
			Ports map[string][]dockerPortBinding
		}
	}
)
