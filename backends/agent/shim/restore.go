package shim

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// restoredTask is a task container found when the shim starts.
type restoredTask struct {
	ID, Name, ContainerID string
	Running               bool
	Ports                 []schemas.PortMapping
	GPUIDs                []string
}

// restorer is implemented by executors whose tasks survive a shim restart.
type restorer interface {
	Restore(ctx context.Context) ([]restoredTask, error)
}

// Restore lists the containers labelled as dstack tasks and adopts them.
func (e *dockerExecutor) Restore(ctx context.Context) ([]restoredTask, error) {
	var list []struct {
		ID     string `json:"Id"`
		Names  []string
		Labels map[string]string
		State  string
	}
	q := url.Values{"all": {"1"}, "filters": {`{"label":["` + labelIsTask + `=true"]}`}}
	if err := e.api.call(ctx, http.MethodGet, "/containers/json", q, nil, &list); err != nil {
		return nil, err
	}
	var out []restoredTask
	for _, c := range list {
		id := c.Labels[labelTaskID]
		if id == "" || len(c.Names) == 0 {
			continue
		}
		var info struct {
			dockerInspect
			HostConfig struct{ DeviceRequests []dockerDeviceRequest }
		}
		if err := e.api.call(ctx, http.MethodGet, "/containers/"+c.ID+"/json", nil, nil, &info); err != nil {
			e.log.Warn("cannot inspect task container", "container", c.ID, "err", err)
			continue
		}
		rt := restoredTask{ID: id, Name: strings.TrimPrefix(c.Names[0], "/"), ContainerID: c.ID,
			Running: info.State.Running, Ports: extractPorts(info.NetworkSettings.Ports), GPUIDs: []string{}}
		for _, dr := range info.HostConfig.DeviceRequests {
			rt.GPUIDs = append(rt.GPUIDs, dr.DeviceIDs...)
		}
		e.mu.Lock()
		e.containers[id] = c.ID
		e.mu.Unlock()
		out = append(out, rt)
	}
	return out, nil
}

// adopt registers restored tasks; running ones are watched until they exit.
func (s *Server) adopt(tasks []restoredTask) {
	for _, rt := range tasks {
		status := schemas.TaskStatusTerminated
		if rt.Running {
			status = schemas.TaskStatusRunning
			s.gpus.reserve(rt.GPUIDs)
		}
		t := &task{status: status, name: rt.Name, dir: filepath.Join(s.cfg.HomeDir, "runners", rt.Name),
			handle: rt.ContainerID, ports: rt.Ports, gpuIDs: rt.GPUIDs}
		if err := s.tasks.add(rt.ID, t); err != nil {
			continue
		}
		s.log.Info("task restored", "task", rt.ID, "status", status, "container", rt.ContainerID)
		if rt.Running {
			s.bg.Add(1)
			go func(id string, gpus []string) {
				defer s.bg.Done()
				defer s.gpus.release(gpus)
				s.waitTask(s.bgCtx, id)
				if s.bgCtx.Err() == nil {
					s.releaseHostKeys(id)
				}
			}(rt.ID, rt.GPUIDs)
		}
	}
}
