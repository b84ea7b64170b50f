package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dstackgo/dstack/server/services"
)

// ModelsPrefix is where the OpenAI-compatible API of a project's models is
// published: /proxy/models/<project>/{models,chat/completions,completions}.
const ModelsPrefix = "/proxy/models/"

// Models serves the OpenAI-compatible endpoint of each project: it lists
// the models of the project's services and routes completions by the
// request's model name to a replica of the newest service publishing it.
// The answers (streamed or not) are the replicas' own.
type Models struct{ *Proxy }

// model is an entry of GET models, in the OpenAI shape.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ServeHTTP serves one request to the models endpoint. As upstream's, it
// always needs a project member's token.
func (m Models) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, op, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, ModelsPrefix), "/")
	if !ok || project == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case op == "models" && r.Method == http.MethodGet:
	case (op == "chat/completions" || op == "completions") && r.Method == http.MethodPost:
	case op == "models" || op == "chat/completions" || op == "completions":
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	default:
		writeError(w, http.StatusNotFound, "Not Found: the models endpoint serves GET models, POST chat/completions and POST completions")
		return
	}
	if !m.authorized(w, r, project) {
		return
	}
	models, err := m.routes.Models(r.Context(), project)
	if err != nil {
		m.log.Error("list models", "project", project, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if op == "models" {
		data := []model{}
		for _, mr := range models {
			data = append(data, model{ID: mr.Name, Object: "model", Created: mr.SubmittedAt.Unix(), OwnedBy: project})
		}
		b, _ := json.Marshal(map[string]any{"object": "list", "data": data})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	m.complete(w, r, project, op, models)
}

// complete routes a completion request by its model name.
func (m Models) complete(w http.ResponseWriter, r *http.Request, project, op string, models []services.ModelRoute) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes", mbe.Limit))
		return
	} else if err != nil {
		writeError(w, http.StatusBadRequest, "Cannot read the request body")
		return
	}
	var req struct {
		Model *string `json:"model"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == nil {
		writeError(w, http.StatusBadRequest, `The body must be a JSON object with a "model" (the name of a model of the project)`)
		return
	}
	var found *services.ModelRoute
	for i := range models { // newest run first: as upstream, it wins a shared name
		if models[i].Name == *req.Model {
			found = &models[i]
			break
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Model %s not found in project %s", *req.Model, project))
		return
	}
	route, err := m.cache.Route(r.Context(), project, found.RunName)
	if errors.Is(err, services.ErrNoService) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Model %s not found in project %s", *req.Model, project))
		return
	} else if err != nil {
		m.log.Error("look up service", "project", project, "run", found.RunName, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	m.routes.Requested(route.RunID, len(route.Replicas) == 0)
	if len(route.Replicas) == 0 {
		writeError(w, http.StatusServiceUnavailable,
			fmt.Sprintf("Model %s (service %s/%s) has no ready replica: %s", *req.Model, project, found.RunName, route.NotReady))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	m.forward(w, r, project, found.RunName, route, strings.TrimSuffix(found.Prefix, "/")+"/"+op)
}
