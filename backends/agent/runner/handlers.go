package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// maxSubmitBody bounds the JSON body of /api/submit.
const maxSubmitBody = 8 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/healthcheck", s.handleHealthcheck)
	mux.HandleFunc("GET /api/metrics", s.handleMetrics)
	mux.HandleFunc("POST /api/submit", s.handleSubmit)
	mux.HandleFunc("POST /api/upload_archive", s.handleUploadArchive)
	mux.HandleFunc("POST /api/upload_code", s.handleUploadCode)
	mux.HandleFunc("POST /api/run", s.handleRun)
	mux.HandleFunc("GET /api/pull", s.handlePull)
	mux.HandleFunc("POST /api/stop", s.handleStop)
	mux.HandleFunc("GET /logs_ws", s.handleLogsWS)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleHealthcheck(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, schemas.HealthcheckResponse{Service: "dstack-runner", Version: s.cfg.Version})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	m, err := s.metrics(r.Context())
	if err != nil {
		http.Error(w, "metrics are not available: "+err.Error(), http.StatusNotFound)
		return
	}
	writeJSON(w, m)
}

// handleSubmit accepts the job; it may be called again until /api/run.
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	if mt := r.Header.Get("Content-Type"); mt != "" {
		if media, _, _ := mime.ParseMediaType(mt); media != "application/json" {
			http.Error(w, "Content-Type header is not application/json", http.StatusUnsupportedMediaType)
			return
		}
	}
	var body schemas.SubmitBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSubmitBody))
	if err := dec.Decode(&body); err != nil {
		http.Error(w, "bad submit body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseWaitSubmit && s.phase != phaseWaitRun {
		http.Error(w, "job already started", http.StatusConflict)
		return
	}
	s.job = &body
	s.phase = phaseWaitRun
	s.note(slog.LevelInfo, "job submitted", "run", body.Run.RunSpec.RunName, "job_id", body.JobSubmission.ID)
}

// handleUploadArchive stores one file archive (multipart field "archive",
// filename = archive id) for extraction when the job starts.
func (s *Server) handleUploadArchive(w http.ResponseWriter, r *http.Request) {
	if !s.inPhase(phaseWaitRun) {
		http.Error(w, "no job submitted or job already started", http.StatusConflict)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "multipart/form-data expected: "+err.Error(), http.StatusBadRequest)
		return
	}
	part, err := mr.NextPart()
	if err != nil {
		http.Error(w, "empty form", http.StatusBadRequest)
		return
	}
	defer part.Close()
	if part.FormName() != "archive" {
		http.Error(w, fmt.Sprintf("unexpected field %q", part.FormName()), http.StatusBadRequest)
		return
	}
	id := part.FileName()
	if id == "" || !isSafeName(id) {
		http.Error(w, "missing or invalid file name", http.StatusBadRequest)
		return
	}
	if err := s.storeArchive(id, part); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if _, err := mr.NextPart(); !errors.Is(err, io.EOF) {
		http.Error(w, "extra form field(s)", http.StatusBadRequest)
	}
}

// handleUploadCode stores the code blob (raw body, possibly empty).
func (s *Server) handleUploadCode(w http.ResponseWriter, r *http.Request) {
	if !s.inPhase(phaseWaitRun) {
		http.Error(w, "no job submitted or job already started", http.StatusConflict)
		return
	}
	path, err := s.storeCode(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.codePath = path
	s.mu.Unlock()
}

// handleRun resolves the job user and working dir, answers them, and starts
// the job in the background.
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	info, ok, err := s.startJob()
	if !ok {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if err != nil {
		// Like upstream: 200 without JSON; the failure is in the job states.
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, info)
}

func (s *Server) handlePull(w http.ResponseWriter, r *http.Request) {
	var ts int64
	if v := r.URL.Query().Get("timestamp"); v != "" {
		var err error
		if ts, err = strconv.ParseInt(v, 10, 64); err != nil {
			http.Error(w, "bad timestamp", http.StatusBadRequest)
			return
		}
	}
	s.mu.Lock()
	final := s.phase == phaseWaitLogsFinished
	// Take the upper bound first: events appended concurrently with a larger
	// timestamp are left for the next pull instead of being lost or repeated.
	latest := s.clock.Latest()
	resp := schemas.PullResponse{
		JobStates:         s.statesSince(ts),
		JobLogs:           s.jobLogs.Between(ts, latest),
		RunnerLogs:        s.runnerLogs.Between(ts, latest),
		LastUpdated:       latest,
		NoConnectionsSecs: s.conns.NoConnectionsSecs(),
		HasMore:           !final,
	}
	s.mu.Unlock()
	writeJSON(w, resp)
	if final {
		s.finalOnce.Do(func() { close(s.pulledFinal) })
	}
}

func (s *Server) handleStop(w http.ResponseWriter, _ *http.Request) {
	s.note(slog.LevelInfo, "stop requested")
	s.stop()
}

func (s *Server) inPhase(p phase) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase == p
}
