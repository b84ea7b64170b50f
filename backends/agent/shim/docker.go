package shim

import (
	"context"
	"debug/elf"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dstackgo/dstack/backends/agent/hostinfo"
	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// Container labels (as upstream) and fixed in-container paths.
const (
	labelIsTask           = "ai.dstack.shim.is-task"
	labelTaskID           = "ai.dstack.shim.task-id"
	containerRunnerBinary = "/usr/local/bin/dstack-runner"
	containerRunnerDir    = "/tmp/runner"
	volumesRoot           = "/mnt/disks/dstack-volumes"
)

// dockerExecutor runs each task as a container whose entrypoint is the
// bind-mounted runner binary, so any image runs (no shell or sshd needed).
type dockerExecutor struct {
	cfg    Config
	log    *slog.Logger
	api    *dockerAPI
	vendor string

	mu         sync.Mutex
	containers map[string]string // task id -> container id
}

func newDockerExecutor(cfg Config, facts hostinfo.Facts, log *slog.Logger) (*dockerExecutor, error) {
	if _, err := os.Stat(cfg.DockerSocket); err != nil {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	api := newDockerAPI(cfg.DockerSocket)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.call(ctx, http.MethodGet, "/_ping", nil, nil, nil); err != nil {
		return nil, fmt.Errorf("ping docker: %w", err)
	}
	if !isStaticELF(cfg.RunnerBinary) {
		log.Warn("runner binary is not statically linked; it may not start in images "+
			"without a matching libc (build with CGO_ENABLED=0)", "binary", cfg.RunnerBinary)
	}
	vendor := hostinfo.VendorNone
	if len(facts.GPUs) > 0 {
		vendor = facts.GPUs[0].Vendor
	}
	return &dockerExecutor{cfg: cfg, log: log, api: api, vendor: vendor, containers: map[string]string{}}, nil
}

// isStaticELF reports whether path is an ELF without a program interpreter.
func isStaticELF(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// Kind implements Executor.
func (e *dockerExecutor) Kind() string { return ExecutorDocker }

// Pull implements Executor: an image already present locally is used as is.
func (e *dockerExecutor) Pull(ctx context.Context, spec TaskSpec, progress func(schemas.ImagePullProgress)) error {
	err := e.api.call(ctx, http.MethodGet, "/images/"+spec.Config.ImageName+"/json", nil, nil, nil)
	if err == nil {
		e.log.Info("image present, not pulling", "task", spec.ID, "image", spec.Config.ImageName)
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("inspect image: %w", err)
	}
	return e.pull(ctx, spec.Config, progress)
}

// Create implements Executor.
func (e *dockerExecutor) Create(ctx context.Context, spec TaskSpec) (string, error) {
	req, err := e.createRequest(spec)
	if err != nil {
		return "", err
	}
	var resp struct {
		ID string `json:"Id"`
	}
	q := url.Values{"name": {spec.Name}}
	if err := e.api.call(ctx, http.MethodPost, "/containers/create", q, req, &resp); err != nil {
		return "", fmt.Errorf("create container: %w", err)
	}
	e.mu.Lock()
	e.containers[spec.ID] = resp.ID
	e.mu.Unlock()
	e.log.Info("container created", "task", spec.ID, "container", resp.ID, "name", spec.Name)
	return resp.ID, nil
}

func (e *dockerExecutor) container(id string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cid, ok := e.containers[id]
	if !ok {
		return "", fmt.Errorf("%w: no container for task %s", ErrNotFound, id)
	}
	return cid, nil
}

// Start implements Executor; in bridge mode it reports the host ports.
func (e *dockerExecutor) Start(ctx context.Context, id string) ([]schemas.PortMapping, error) {
	cid, err := e.container(id)
	if err != nil {
		return nil, err
	}
	if err := e.api.call(ctx, http.MethodPost, "/containers/"+cid+"/start", nil, nil, nil); err != nil {
		return nil, fmt.Errorf("start container: %w", err)
	}
	var info dockerInspect
	if err := e.api.call(ctx, http.MethodGet, "/containers/"+cid+"/json", nil, nil, &info); err != nil {
		return nil, fmt.Errorf("inspect container: %w", err)
	}
	return extractPorts(info.NetworkSettings.Ports), nil
}

// extractPorts turns {"10999/tcp": [{HostIp, HostPort}]} into mappings (IPv4, TCP).
func extractPorts(ports map[string][]dockerPortBinding) []schemas.PortMapping {
	out := []schemas.PortMapping{}
	for key, bindings := range ports {
		port, proto, _ := strings.Cut(key, "/")
		cport, err := strconv.Atoi(port)
		if err != nil || proto != "tcp" {
			continue
		}
		for _, b := range bindings {
			hport, err := strconv.Atoi(b.HostPort)
			if err == nil && !strings.Contains(b.HostIP, ":") {
				out = append(out, schemas.PortMapping{Host: hport, Container: cport})
			}
		}
	}
	return out
}

// Wait implements Executor.
func (e *dockerExecutor) Wait(ctx context.Context, id string) (int, error) {
	cid, err := e.container(id)
	if err != nil {
		return 0, err
	}
	var resp struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	if err := e.api.call(ctx, http.MethodPost, "/containers/"+cid+"/wait", nil, nil, &resp); err != nil {
		return 0, fmt.Errorf("wait container: %w", err)
	}
	if resp.Error != nil && resp.Error.Message != "" {
		return 0, fmt.Errorf("wait container: %s", resp.Error.Message)
	}
	return resp.StatusCode, nil
}

// Stop implements Executor (SIGTERM, SIGKILL after timeout).
func (e *dockerExecutor) Stop(ctx context.Context, id string, timeout time.Duration) error {
	cid, err := e.container(id)
	if err != nil {
		return nil // nothing was created
	}
	q := url.Values{"t": {strconv.Itoa(int(timeout.Seconds()))}}
	if err := e.api.call(ctx, http.MethodPost, "/containers/"+cid+"/stop", q, nil, nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("stop container: %w", err)
	}
	return nil
}

// LastLogs implements Executor.
func (e *dockerExecutor) LastLogs(ctx context.Context, id string, n int) []string {
	cid, err := e.container(id)
	if err != nil {
		return nil
	}
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "tail": {strconv.Itoa(n)}}
	resp, err := e.api.raw(ctx, http.MethodGet, "/containers/"+cid+"/logs", q, nil, nil)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var b strings.Builder
	_ = demux(&b, resp.Body)
	return lastLines(b.String(), n)
}

// Remove implements Executor: force-removes the container and its volumes.
func (e *dockerExecutor) Remove(ctx context.Context, id string) error {
	cid, err := e.container(id)
	if err != nil {
		return nil
	}
	q := url.Values{"force": {"1"}, "v": {"1"}}
	if err := e.api.call(ctx, http.MethodDelete, "/containers/"+cid, q, nil, nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container: %w", err)
	}
	e.mu.Lock()
	delete(e.containers, id)
	e.mu.Unlock()
	return nil
}
