// Command svcapp is the service the end-to-end tests run on their hosts: it
// answers with what it received, streams server-sent events, echoes
// websocket messages and speaks the OpenAI chat completions format. Asked
// for /close, it stops listening and keeps running, as a replica does that
// is being stopped.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	port := flag.Int("port", 8000, "port to listen on (127.0.0.1)")
	health := flag.Int("health", http.StatusOK, "status of GET /health")
	model := flag.String("model", "", "model name answered by the OpenAI API under /v1")
	flag.Parse()
	id := os.Getenv("DSTACK_JOB_ID")
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(*health) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range n {
			fmt.Fprintf(w, "data: %d %d\n\n", i, time.Now().UnixMilli())
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
		}
	})
	up := websocket.Upgrader{}
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			t, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(t, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/v1/models", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": *model, "object": "model", "owned_by": "svcapp"}}})
	})
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { chat(w, r, id) })
	mux.HandleFunc("/v1/completions", func(w http.ResponseWriter, r *http.Request) { chat(w, r, id) })
	srv := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(*port), Handler: mux}
	mux.HandleFunc("/close", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"job_id": id})
		w.(http.Flusher).Flush()
		// Close after this answer has left; Close also drops idle
		// keep-alive connections, so nothing reaches this replica again.
		time.AfterFunc(100*time.Millisecond, func() { _ = srv.Close() })
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		writeJSON(w, map[string]any{"job_id": id, "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"host": r.Host, "authorization": r.Header.Get("Authorization"), "body": string(body)})
	})
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	for { // closed on request: keep running, no longer listening
		time.Sleep(time.Hour)
	}
}

// chat answers a chat or text completion: the reply names the model and
// the replica, streamed as chunks when asked.
func chat(w http.ResponseWriter, r *http.Request, id string) {
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	words := []string{"hello", "from", req.Model, "on", id}
	if !req.Stream {
		writeJSON(w, map[string]any{"id": "c1", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": fmt.Sprint(words)}}}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, word := range words {
		b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": word}}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
