package shim

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// pullMessage is one JSON line of the Engine's image pull stream.
type pullMessage struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ProgressDetail struct {
		Current uint64 `json:"current"`
		Total   uint64 `json:"total"`
	} `json:"progressDetail"`
	ErrorDetail struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

type layerProgress struct {
	status                       string
	downloaded, extracted, total uint64
}

// pullTracker aggregates per-layer byte counters into ImagePullProgress.
type pullTracker struct {
	layers map[string]*layerProgress
}

func (t *pullTracker) update(m pullMessage) bool {
	if m.ID == "" {
		return false
	}
	l := t.layers[m.ID]
	if l == nil {
		l = &layerProgress{}
	}
	d := m.ProgressDetail
	switch m.Status {
	case "Pulling fs layer", "Waiting", "Verifying Checksum", "Already exists":
	case "Downloading":
		l.downloaded, l.total = d.Current, d.Total
	case "Download complete":
		l.downloaded = l.total
	case "Extracting":
		l.extracted, l.downloaded, l.total = d.Current, d.Total, d.Total
	case "Pull complete":
		l.extracted, l.downloaded = l.total, l.total
	default:
		return false // not a layer event, e.g. "Pulling from library/python"
	}
	l.status = m.Status
	t.layers[m.ID] = l
	return true
}

func (t *pullTracker) progress() schemas.ImagePullProgress {
	p := schemas.ImagePullProgress{IsTotalBytesFinal: true}
	for _, l := range t.layers {
		if l.total == 0 && l.status != "Already exists" && l.status != "Pull complete" {
			p.IsTotalBytesFinal = false
		}
		p.DownloadedBytes += l.downloaded
		p.ExtractedBytes += l.extracted
		p.TotalBytes += l.total
	}
	return p
}

// imageRef splits an image reference into name and tag ("latest" if none).
func imageRef(image string) (string, string) {
	if strings.Contains(image, "@") {
		return image, ""
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, "latest"
}

// registryAuth encodes X-Registry-Auth; "" without credentials.
func registryAuth(user, password string) string {
	if user == "" && password == "" {
		return ""
	}
	data, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return base64.URLEncoding.EncodeToString(data)
}

// pull downloads an image, reporting progress, and fails unless the Engine
// reports completion ("Status: ..." as the last message).
func (e *dockerExecutor) pull(ctx context.Context, cfg schemas.TaskConfigBody, progress func(schemas.ImagePullProgress)) error {
	name, tag := imageRef(cfg.ImageName)
	q := url.Values{"fromImage": {name}}
	if tag != "" {
		q.Set("tag", tag)
	}
	hdr := http.Header{}
	if auth := registryAuth(cfg.RegistryUsername, cfg.RegistryPassword); auth != "" {
		hdr.Set("X-Registry-Auth", auth)
	}
	resp, err := e.api.raw(ctx, http.MethodPost, "/images/create", q, nil, hdr)
	if err != nil {
		return fmt.Errorf("pull %s: %w", cfg.ImageName, err)
	}
	defer resp.Body.Close()
	tracker := &pullTracker{layers: map[string]*layerProgress{}}
	var errs []string
	completed := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m pullMessage
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if tracker.update(m) {
			progress(tracker.progress())
		}
		if m.ErrorDetail.Message != "" {
			errs = append(errs, m.ErrorDetail.Message)
		}
		completed = completed || strings.HasPrefix(m.Status, "Status:")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pull %s interrupted: %w", cfg.ImageName, err)
	}
	if !completed || len(errs) > 0 {
		return fmt.Errorf("pull %s failed: %q", cfg.ImageName, errs)
	}
	e.log.Info("image pulled", "image", cfg.ImageName, "bytes", tracker.progress().DownloadedBytes)
	return nil
}
