package shim

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// errBadRequest marks request validation errors (400).
var errBadRequest = errors.New("bad request")

// maxJSONBody bounds request bodies.
const maxJSONBody = 1 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/healthcheck", s.handleHealthcheck)
	mux.HandleFunc("POST /api/shutdown", s.handleShutdown)
	mux.HandleFunc("GET /api/instance/health", s.handleInstanceHealth)
	mux.HandleFunc("GET /api/instance/info", s.handleInstanceInfo)
	mux.HandleFunc("GET /api/components", s.handleComponents)
	mux.HandleFunc("POST /api/components/install", s.handleComponentInstall)
	mux.HandleFunc("GET /api/tasks", s.handleTaskList)
	mux.HandleFunc("POST /api/tasks", s.handleTaskSubmit)
	mux.HandleFunc("GET /api/tasks/{id}", s.handleTaskInfo)
	mux.HandleFunc("POST /api/tasks/{id}/terminate", s.handleTaskTerminate)
	mux.HandleFunc("POST /api/tasks/{id}/remove", s.handleTaskRemove)
	mux.HandleFunc("GET /metrics/tasks/{id}", s.handleTaskMetrics)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps errors onto upstream's statuses with a plain-text body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	}
	s.log.Warn("api error", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	http.Error(w, err.Error(), status)
}

// decodeJSON reads a JSON body; an empty body leaves dst untouched when
// allowEmpty is set.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return errors.Join(errBadRequest, errors.New("Content-Type header is not application/json"))
		}
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(dst)
	if err != nil && !(allowEmpty && errors.Is(err, io.EOF)) {
		return errors.Join(errBadRequest, err)
	}
	return nil
}

func (s *Server) handleHealthcheck(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, schemas.HealthcheckResponse{Service: "dstack-shim", Version: s.cfg.Version})
}

func (s *Server) handleShutdown(w http.ResponseWriter, r *http.Request) {
	var req schemas.ShutdownRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("shutdown requested", "force", req.Force)
	go s.requestShutdown(req.Force)
}

func (s *Server) handleInstanceHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"dcgm": nil})
}

func (s *Server) handleInstanceInfo(w http.ResponseWriter, _ *http.Request) {
	resp := schemas.InstanceInfoResponse{Executor: s.exec.Kind()}
	if len(s.facts.GPUs) > 0 {
		resp.GpuVendor = s.facts.GPUs[0].Vendor
		resp.GpuDriverVersion = s.facts.GPUs[0].DriverVersion
	}
	writeJSON(w, resp)
}

// handleComponents reports the runner as installed: it is this binary.
func (s *Server) handleComponents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, schemas.ComponentListResponse{Components: []schemas.ComponentInfo{
		{Name: schemas.ComponentNameRunner, Version: s.cfg.Version, Status: schemas.ComponentStatusInstalled},
		{Name: schemas.ComponentNameShim, Version: s.cfg.Version, Status: schemas.ComponentStatusInstalled},
	}})
}

func (s *Server) handleComponentInstall(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "component install is not supported: shim and runner are one binary", http.StatusBadRequest)
}

func (s *Server) handleTaskList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, schemas.TaskListResponse{Tasks: s.tasks.list()})
}

// handleTaskSubmit registers the task and starts it in the background.
func (s *Server) handleTaskSubmit(w http.ResponseWriter, r *http.Request) {
	var req schemas.TaskConfigBody
	if err := decodeJSON(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.submit(req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTaskInfo(w, r, req.ID)
}

func (s *Server) handleTaskInfo(w http.ResponseWriter, r *http.Request) {
	s.writeTaskInfo(w, r, r.PathValue("id"))
}

func (s *Server) writeTaskInfo(w http.ResponseWriter, r *http.Request, id string) {
	info, err := s.tasks.info(id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, info)
}

func (s *Server) handleTaskTerminate(w http.ResponseWriter, r *http.Request) {
	var req schemas.TaskTerminateRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := s.terminateTask(r.Context(), id, req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("task terminated", "task", id, "reason", req.TerminationReason)
	s.writeTaskInfo(w, r, id)
}

func (s *Server) handleTaskRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.removeTask(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("task removed", "task", id)
}

// handleTaskMetrics: there is no DCGM exporter; 404 tells the server so.
func (s *Server) handleTaskMetrics(w http.ResponseWriter, r *http.Request) {
	if _, err := s.tasks.lookup(r.PathValue("id")); err != nil {
		http.Error(w, "Task not found", http.StatusNotFound)
		return
	}
	http.Error(w, "DCGM Exporter is not available", http.StatusNotFound)
}
